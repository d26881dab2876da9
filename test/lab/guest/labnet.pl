#!/usr/bin/perl
# Tiny traffic tools for the director lab (perl-base only: no fork per request).
#   labnet.pl udp-server PORT DIR NS...
#       one responder for the namespaces NS...: answers every datagram with the name of
#       the namespace it arrived in; listens on [::] (dual stack) and on each address in
#       DIR/NS.vips (re-read on SIGHUP), replying from the socket that received, so DR and
#       TUN replies carry the VIP; writes DIR/udp.pid, and DIR/udp.bound once bound
#   labnet.pl http N ADDR PORT TIMEOUT PATH     N sequential HTTP/1.0 GETs
#   labnet.pl udp  N ADDR PORT TIMEOUT          N datagrams, each from a fresh socket
# Clients print the first body line (the server name) per answered request, and
# "ok=N fail=K" on stderr; exit 1 if any failed.
use strict;
use warnings;
use Socket qw(:addrinfo AF_INET AF_INET6 SOCK_STREAM SOCK_DGRAM SOL_SOCKET SO_REUSEADDR
  IPPROTO_IPV6 IPV6_V6ONLY);

if (@ARGV && $ARGV[0] eq '--print-inc') { print "$_\n" for sort values %INC; exit 0; }
my $cmd = shift @ARGV // '';

sub resolve {
  my ($addr, $port, $type) = @_;
  my ($err, @res) = getaddrinfo($addr, $port, { flags => AI_NUMERICHOST | AI_NUMERICSERV, socktype => $type });
  die "bad address $addr: $err\n" if $err;
  return $res[0];
}

if ($cmd eq 'udp-server') {
  # one process for every real-server namespace: sockets belong to the namespace they
  # were created in, so it enters each with setns(2) only to create them
  my ($port, $dir, @nss) = @ARGV;
  die "usage: labnet.pl udp-server PORT DIR NS...\n" unless @nss;
  my $SYS_setns = 308;    # x86_64
  my $CLONE_NEWNET = 0x40000000;
  open(my $home, '<', '/proc/self/ns/net') or die "own netns: $!\n";
  my %nsfh;
  for my $ns (@nss) { open($nsfh{$ns}, '<', "/run/netns/$ns") or die "/run/netns/$ns: $!\n"; }
  my $open = sub {
    my ($ns, $addr) = @_;
    my $ai = resolve($addr, $port, SOCK_DGRAM);
    syscall($SYS_setns, fileno($nsfh{$ns}), $CLONE_NEWNET) == 0 or die "setns $ns: $!\n";
    my $ok = socket(my $s, $ai->{family}, SOCK_DGRAM, 0);
    my $err = $!;
    syscall($SYS_setns, fileno($home), $CLONE_NEWNET) == 0 or die "setns back: $!\n";
    die "socket: $err\n" unless $ok;
    setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1) or die "reuseaddr: $!\n";
    setsockopt($s, IPPROTO_IPV6, IPV6_V6ONLY, 0) if $addr eq '::';
    if (!bind($s, $ai->{addr})) { print STDERR "$ns: bind $addr:$port: $!\n"; return undef; }
    return $s;
  };
  my %any;    # ns -> wildcard socket
  my %vip;    # "ns addr" -> socket
  my %owner;  # fileno -> ns
  for my $ns (@nss) { $any{$ns} = $open->($ns, '::') or die "$ns: cannot bind [::]:$port\n"; $owner{fileno($any{$ns})} = $ns; }
  my $reload = 1;
  $SIG{HUP} = sub { $reload = 1 };
  open(my $pf, '>', "$dir/udp.pid") or die "$dir/udp.pid: $!\n"; print $pf "$$\n"; close $pf;
  while (1) {
    if ($reload) {
      $reload = 0;
      my %want;
      for my $ns (@nss) {
        open(my $f, '<', "$dir/$ns.vips") or next;
        while (<$f>) { chomp; $want{"$ns $_"} = 1 if length; }
        close $f;
      }
      for my $k (keys %vip) { next if $want{$k}; my $s = delete $vip{$k}; delete $owner{fileno($s)}; close $s; }
      for my $k (sort keys %want) {
        next if $vip{$k};
        my ($ns, $a) = split / /, $k;
        my $s = $open->($ns, $a) or next;
        $vip{$k} = $s;
        $owner{fileno($s)} = $ns;
      }
      open(my $f, '>', "$dir/udp.bound.tmp") or die "$dir/udp.bound.tmp: $!\n";
      print $f "$_\n" for sort keys %vip;
      close $f;
      rename("$dir/udp.bound.tmp", "$dir/udp.bound") or die "rename: $!\n";
    }
    my @socks = (values %any, values %vip);
    my $rin = '';
    vec($rin, fileno($_), 1) = 1 for @socks;
    my $n = select(my $rout = $rin, undef, undef, undef);
    next if $n <= 0;
    for my $s (@socks) {
      next unless vec($rout, fileno($s), 1);
      my $peer = recv($s, my $buf, 65535, 0);
      send($s, "$owner{fileno($s)}\n", 0, $peer) if defined $peer && length $peer;
    }
  }
}

if ($cmd eq 'http' || $cmd eq 'udp') {
  my ($n, $addr, $port, $timeout, $path) = @ARGV;
  die "usage: labnet.pl http|udp N ADDR PORT TIMEOUT [PATH]\n" unless defined $timeout;
  $path //= '/';
  my $type = $cmd eq 'http' ? SOCK_STREAM : SOCK_DGRAM;
  my $ai = resolve($addr, $port, $type);
  my $hostname = $ai->{family} == AF_INET6 ? "[$addr]" : $addr;
  my ($ok, $fail) = (0, 0);
  $| = 1;
  for my $i (1 .. $n) {
    my $answer = eval {
      local $SIG{ALRM} = sub { die "timeout\n" };
      alarm(int($timeout + 0.999));
      socket(my $s, $ai->{family}, $type, 0) or die "socket: $!\n";
      connect($s, $ai->{addr}) or die "connect: $!\n";
      my $body;
      if ($type == SOCK_STREAM) {
        my $req = "GET $path HTTP/1.0\r\nHost: $hostname\r\nConnection: close\r\n\r\n";
        defined(send($s, $req, 0)) or die "send: $!\n";
        my $resp = '';
        while (1) { my $r = sysread($s, my $chunk, 65536); die "read: $!\n" unless defined $r; last if $r == 0; $resp .= $chunk; }
        die "bad response\n" unless $resp =~ m{^HTTP/1\.[01] 200} && $resp =~ /\r\n\r\n(.*)\z/s;
        $body = $1;
      } else {
        defined(send($s, "ping $i\n", 0)) or die "send: $!\n";
        my $rin = '';
        vec($rin, fileno($s), 1) = 1;
        select(my $rout = $rin, undef, undef, $timeout) > 0 or die "timeout\n";
        defined(recv($s, $body, 65535, 0)) or die "recv: $!\n";
      }
      close $s;
      alarm(0);
      $body;
    };
    alarm(0);
    if (defined $answer) {
      my ($line) = split /\n/, $answer;
      $line //= '';
      print "$line\n";
      $ok++;
    } else {
      my $e = $@ // 'unknown error';
      chomp $e;
      print STDERR "request $i failed: $e\n";
      $fail++;
    }
  }
  print STDERR "ok=$ok fail=$fail\n";
  exit($fail ? 1 : 0);
}

die "usage: labnet.pl udp-server|http|udp ...\n";
