#!/bin/sh
# Create or update the /socialmedia-check slash command with curl and jq.
# Prefer `socialmedia-check mattermost-setup --team <name>`; this is for hosts without the bot's CLI.
# Usage: MATTERMOST_URL=… TOKEN=<admin or bot token> SMC_PUBLIC_URL=… ./mattermost-setup.sh <team-name>
set -eu
team_name=${1:?usage: $0 <team-name>}
api="${MATTERMOST_URL%/}/api/v4"
auth="Authorization: Bearer ${TOKEN:?set TOKEN to a token with manage_slash_commands}"
url="${SMC_PUBLIC_URL:?set SMC_PUBLIC_URL}"
url="${url%/}/mattermost/command"

team_id=$(curl -fsS -H "$auth" "$api/teams/name/$team_name" | jq -r .id)
existing=$(curl -fsS -H "$auth" "$api/commands?team_id=$team_id&custom_only=true" |
  jq -c '[.[] | select(.trigger == "socialmedia-check" and .delete_at == 0)][0] // empty')
fields=$(jq -nc --arg team "$team_id" --arg url "$url" '{team_id: $team, trigger: "socialmedia-check",
  url: $url, method: "P", display_name: "Social media check", auto_complete: true,
  auto_complete_desc: "Start or steer a social media check in this channel",
  auto_complete_hint: "[start [nl|en] | answer <n> | note <text> | status | next | help]"}')
if [ -n "$existing" ]; then
  id=$(printf '%s' "$existing" | jq -r .id)
  command=$(printf '%s' "$existing" | jq -c --argjson f "$fields" '. + $f' |
    curl -fsS -X PUT -H "$auth" -H 'Content-Type: application/json' --data @- "$api/commands/$id")
  echo "Updated /socialmedia-check in $team_name"
else
  command=$(printf '%s' "$fields" |
    curl -fsS -X POST -H "$auth" -H 'Content-Type: application/json' --data @- "$api/commands")
  echo "Created /socialmedia-check in $team_name"
fi
echo "MATTERMOST_COMMAND_TOKEN=$(printf '%s' "$command" | jq -r .token)"
