# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live view of running PHP-FPM, one job per file:

``masters``  the running masters, from /proc (no PHP, no FastCGI)
``probe``    the read-only probe: its PHP source, where it is placed, the request, the pool spec
``hold``     what only the invalidation adds to the probe: hold the request, invalidate, reset
``drift``    pure comparisons of live values with the disk (origin, drift)
``stale``    cached scripts and file cache entries older than their source
``runtime``  what runs vs what is configured: capacity (memory, interned strings, key slots), JIT
``releases`` current -> releases/N roots: the cache each release holds; preloading
``report``   the ``live`` part of the opcache_info result, with its findings
"""
