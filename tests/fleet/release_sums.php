<?php
// Scripts and memory per release as OPcache itself reports them (fleet check g compares the live view
// with this): {"1": [scripts, bytes], ...} for the cached scripts under /srv/app/releases/.
$sums = [];
foreach ((opcache_get_status(true)['scripts'] ?? []) as $path => $script) {
    if (preg_match('#^/srv/app/releases/([^/]+)/#', $path, $m)) {
        $sums[$m[1]] = [($sums[$m[1]][0] ?? 0) + 1, ($sums[$m[1]][1] ?? 0) + $script['memory_consumption']];
    }
}
ksort($sums);
echo json_encode((object) $sums), "\n";
