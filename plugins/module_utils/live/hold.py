# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What only the invalidation (opcache_reset) adds to the live probe: PHP that can change the cache.

``ACTION_PROBE_SOURCE`` is the read-only probe of live.probe with ``ACTIONS`` run between reading
the ini values and reading the status. The payload asks for them:

``hold``        ``{canary, expect, wait}``: the verified reset in ONE request. Cache the canary,
                stream the counters before (a line ``HOLD_MARKER`` + JSON, seen by
                ``FastCGIClient.request(on_stdout=...)`` while the request runs), wait (bounded)
                until the caller has replaced the canary on disk, read it again (still the old
                token where the cache holds it), and only then let the reset run; no reset at all
                when the canary was not replaced in time or was not the one the caller wrote.
``invalidate``  a list of files to ``opcache_invalidate(..., true)``.
``reset``       true: ``opcache_reset()``, with its result and error.

The opcache_info live view never sends this probe: its probe cannot change anything.
"""

from __future__ import annotations

from ansible_collections.phpops.opcache.plugins.module_utils.live.probe import probe_source

HOLD_MARKER = b'@@PHPOPS-HOLD@@'

ACTIONS = r'''// Only when asked (opcache_reset module): the verified reset in ONE request. Cache the canary, report
// the counters before, then wait (bounded) until the caller has replaced the canary on disk; read it
// again (still the old token where the cache holds it), and only then let the reset below run. No
// reset at all when the caller did not replace the canary in time.
if (!empty($req['hold']) && is_array($req['hold']) && isset($req['hold']['canary'])) {
    $f = (string) $req['hold']['canary'];
    $h = array('cached' => null, 'stale' => null, 'replaced' => false);
    ob_start();
    include $f;
    $h['cached'] = ob_get_clean();
    clearstatcache(true, $f);
    $was = @stat($f);
    $pre = function_exists('opcache_get_status') ? @opcache_get_status(false) : false;
    while (ob_get_level() > 0) {
        ob_end_flush();
    }
    echo "\n@@PHPOPS-HOLD@@", json_encode(array('cached' => $h['cached'], 'status' => $pre === false ? null : $pre, 'ini' => $r['ini'])), "\n";
    flush();
    $wait = isset($req['hold']['wait']) ? min(max((float) $req['hold']['wait'], 0.1), 60.0) : 5.0;
    if (isset($req['hold']['expect']) && $h['cached'] !== (string) $req['hold']['expect']) {
        $wait = 0.0;  // not the canary the caller wrote: it will not replace it, do not keep the worker waiting
    }
    $until = microtime(true) + $wait;
    $beat = 0;
    while (microtime(true) < $until) {
        clearstatcache(true, $f);
        $now = @stat($f);
        if ($now && $was && ($now['ino'] != $was['ino'] || $now['mtime'] != $was['mtime'] || $now['size'] != $was['size'])) {
            $h['replaced'] = true;
            break;
        }
        if (++$beat % 500 == 0) {
            // a caller that gave up has closed the connection: only a write tells, so send a newline
            echo "\n";
            flush();
            if (connection_aborted()) {
                break;
            }
        }
        usleep(100);
    }
    if ($h['replaced']) {
        ob_start();
        include $f;
        $h['stale'] = ob_get_clean();
    } else {
        $req['reset'] = false;
    }
    $r['hold'] = $h;
}
// Only when asked (opcache_reset module): invalidate files, then schedule a reset.
if (!empty($req['invalidate']) && is_array($req['invalidate']) && function_exists('opcache_invalidate')) {
    $r['invalidated'] = array();
    foreach ($req['invalidate'] as $f) {
        $r['invalidated'][] = array($f, @opcache_invalidate((string) $f, true));
    }
}
if (!empty($req['reset'])) {
    error_clear_last();
    $r['reset_result'] = function_exists('opcache_reset') ? @opcache_reset() : null;
    $e = error_get_last();
    $r['reset_error'] = $e ? $e['message'] : null;
}
'''

ACTION_PROBE_SOURCE = probe_source(ACTIONS)
