"""The physician workstation: a browser front end served by dualsign itself (no CDN, no build step)."""
