#!/bin/sh
# Verify last night's backup manifest. Fails here on purpose: the manifest is not on this machine.
manifest="${BACKUP_MANIFEST:-/srv/backups/manifest.json}"
echo "checking $manifest"
if [ ! -f "$manifest" ]; then
  echo "error: backup manifest $manifest not found" >&2
  exit 3
fi
