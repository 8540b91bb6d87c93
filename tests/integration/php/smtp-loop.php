<?php
// A web script that talks SMTP to the local MTA itself (no mail(), no
// login: mynetworks trusts loopback) and sends many messages on one
// connection: what the kernel counts as one connect(). With LOGIN and
// PASSWORD, a bot that logged in (AUTH PLAIN) does the same, from BIND
// (an address of its own) when given.
// Usage: php smtp-loop.php HOST PORT FROM N [LOGIN PASSWORD [BIND]]
//   -> a line "refused I at rcpt|data: REPLY" for each message refused,
//      then "accepted=N refused=N"
require __DIR__ . '/smtp.php';
[$host, $port, $from, $n] = array_slice($argv, 1, 4);
$login = $argv[5] ?? '';
$pass = $argv[6] ?? '';
$bind = $argv[7] ?? '0';
$ctx = stream_context_create(['socket' => ['bindto' => "$bind:0"]]);
$s = stream_socket_client("tcp://$host:$port", $errno, $errstr, 5, STREAM_CLIENT_CONNECT, $ctx);
if (!$s) {
	fwrite(STDERR, "connect: $errstr\n");
	exit(2);
}
stream_set_timeout($s, 10);
reply($s);
cmd($s, "EHLO web.hosting.test");
if ($login !== '') {
	$r = cmd($s, 'AUTH PLAIN ' . base64_encode("\0$login\0$pass"));
	if ($r[0] !== '2') {
		fwrite(STDERR, "AUTH: $r");
		exit(2);
	}
}
$ok = 0;
$refused = 0;
for ($i = 1; $i <= (int)$n; $i++) {
	cmd($s, "MAIL FROM:<$from>");
	$r = cmd($s, "RCPT TO:<ok$i@remote.test>");
	$at = 'rcpt';
	if ($r[0] === '2') {
		$at = 'data';
		$r = cmd($s, "DATA");
		if ($r[0] === '3')
			$r = cmd($s, "Subject: web $i\r\n\r\nmessage $i\r\n.");
	} else {
		cmd($s, "RSET");
	}
	if ($r[0] === '2') {
		$ok++;
	} else {
		$refused++;
		echo "refused $i at $at: " . rtrim($r) . "\n";
	}
}
cmd($s, "QUIT");
echo "accepted=$ok refused=$refused\n";
