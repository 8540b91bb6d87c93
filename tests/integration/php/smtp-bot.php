<?php
// A spam bot with a leaked password: logs in once (AUTH PLAIN) and sends N
// messages on one connection, one every 1/RATE seconds from its start (as
// fast as the server answers when it cannot keep up), to ok1@ .. okN@.
// Usage: php smtp-bot.php HOST PORT LOGIN PASSWORD N RATE
//   -> prints "accepted=N refused=N seconds=S"
require __DIR__ . '/smtp.php';
[$_, $host, $port, $login, $pass, $n, $rate] = $argv;
$s = fsockopen($host, (int)$port, $errno, $errstr, 5);
if (!$s) {
	fwrite(STDERR, "connect: $errstr\n");
	exit(2);
}
stream_set_timeout($s, 30);
reply($s);
cmd($s, "EHLO bot.example");
$r = cmd($s, "AUTH PLAIN " . base64_encode("\0$login\0$pass"));
if ($r[0] !== '2') {
	fwrite(STDERR, "AUTH: $r");
	exit(1);
}
$ok = 0;
$refused = 0;
$t0 = microtime(true);
for ($i = 1; $i <= (int)$n; $i++) {
	$due = $t0 + ($i - 1) / (float)$rate;
	$now = microtime(true);
	if ($due > $now)
		usleep((int)(($due - $now) * 1e6));
	cmd($s, "MAIL FROM:<$login>");
	cmd($s, "RCPT TO:<ok$i@remote.test>");
	cmd($s, "DATA");
	$r = cmd($s, "Subject: offer $i\r\n\r\nbuy now $i\r\n.");
	if ($r !== '' && $r[0] === '2')
		$ok++;
	else
		$refused++;
}
$secs = microtime(true) - $t0;
cmd($s, "QUIT");
printf("accepted=%d refused=%d seconds=%.2f\n", $ok, $refused, $secs);
