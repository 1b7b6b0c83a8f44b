#!/bin/sh
# Request one PHP script from the php-fpm "www" pool over FastCGI and print the body.
#   request.sh SCRIPT [SOCKET]   SOCKET: the pool's socket, default $PHPOPS_FPM_SOCKET
#                                (e.g. /run/php/php8.2-fpm.sock)
SOCKET="${2:-${PHPOPS_FPM_SOCKET:?request.sh: no socket (argument 2 or PHPOPS_FPM_SOCKET)}}"
SCRIPT_FILENAME="$1" REQUEST_METHOD=GET SCRIPT_NAME="$1" cgi-fcgi -bind -connect "$SOCKET" | sed '1,/^\r\{0,1\}$/d'
