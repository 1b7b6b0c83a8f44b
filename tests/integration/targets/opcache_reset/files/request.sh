#!/bin/sh
# Request one PHP script from the php8.2-fpm "www" pool over FastCGI and print the body.
SCRIPT_FILENAME="$1" REQUEST_METHOD=GET SCRIPT_NAME="$1" cgi-fcgi -bind -connect /run/php/php8.2-fpm.sock | sed '1,/^\r\{0,1\}$/d'
