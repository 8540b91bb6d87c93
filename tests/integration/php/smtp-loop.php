<?php
// A web script that talks SMTP to the local MTA itself (no mail(), no
// login: mynetworks trusts loopback) and sends many messages on one
// connection: what the kernel counts as one connect().
// Usage: php smtp-loop.php HOST PORT FROM N  -> prints "accepted=N refused=N"
[$_, $host, $port, $from, $n] = $argv;
$s = fsockopen($host, (int)$port, $errno, $errstr, 5);
if (!$s) {
	fwrite(STDERR, "connect: $errstr\n");
	exit(2);
}
stream_set_timeout($s, 10);
function reply($s)
{
	$all = '';
	while (($l = fgets($s)) !== false) {
		$all .= $l;
		if (strlen($l) < 4 || $l[3] !== '-')
			break;
	}
	return $all;
}
function cmd($s, $line)
{
	fwrite($s, "$line\r\n");
	return reply($s);
}
reply($s);
cmd($s, "EHLO web.hosting.test");
$ok = 0;
$refused = 0;
for ($i = 1; $i <= (int)$n; $i++) {
	cmd($s, "MAIL FROM:<$from>");
	cmd($s, "RCPT TO:<ok$i@remote.test>");
	cmd($s, "DATA");
	$r = cmd($s, "Subject: web $i\r\n\r\nmessage $i\r\n.");
	if ($r[0] === '2')
		$ok++;
	else
		$refused++;
}
cmd($s, "QUIT");
echo "accepted=$ok refused=$refused\n";
