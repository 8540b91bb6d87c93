<?php
// The SMTP client side the test scripts share: one reply (its
// continuation lines included), and one command with its reply.
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
