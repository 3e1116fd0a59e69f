#!/bin/sh
# Rendered by VMStation for storagenodet3500: the forced command of the power manager's SSH key
# (command= in the suspend user's authorized_keys). Whatever the client asks for, this runs.
# Flush the disks first, so a node that never resumes loses nothing.
sync
exec /bin/sh -c 'systemctl suspend'
