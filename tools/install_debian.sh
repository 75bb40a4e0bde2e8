#!/bin/sh
# Installs Debian's packages named on the command line: chromium, which the browser tests drive
# headless, and bubblewrap, the sandbox that grading runs each submission in.
set -e
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get install -y "$@" || { $SUDO apt-get update && $SUDO apt-get install -y "$@"; }
