"""The assessment as data; shipped inside the package as ``bot.dialogues``."""
