/*
 * uri.h - the strict check of a host URI written in a spec.
 *
 * A spec is untrusted (docs/security.md): a libvirt URI can name programs
 * (command=, netcat=), local sockets (socket=), key and certificate files
 * (keyfile=, pkipath=, known_hosts=), weaken TLS or ssh checks (no_verify,
 * known_hosts_verify, sshauth), hand another URI to the remote daemon
 * (name=), or make libvirt read any file (test:///PATH).  So a spec may only
 * name a host and a transport, in this grammar:
 *
 *   qemu[+ssh|+tcp|+tls|+libssh|+libssh2]://[USER@]HOST[:PORT]/system|/session[?no_tty=0|1]
 *   qemu:///system, qemu:///session, qemu+unix:///system, qemu+unix:///session
 *   sim:///NAME[?cpus=N][&memory=SIZE]
 *   test:///default
 *
 * USER is letters, digits, '.', '_', '-' (not first); HOST a DNS name, an
 * IPv4 address or a bracketed IPv6 address; no password, percent-escape,
 * fragment, control or non-ASCII character, repeated or empty parameter.
 * Everything else about reaching a host comes from the operator's
 * connections config (reconciler/connections.h).
 *
 * The check is used by the loader (NC_CHK_URI, so `validate` reports it at
 * file:line:col) and again right before a spec-derived URI is opened.
 */
#ifndef NC_URI_H
#define NC_URI_H

/*
 * 0 when uri is acceptable in a spec; else -1 and *why says what is wrong
 * (static or thread-local text, valid until the next call in this thread).
 */
int nc_host_uri_check(const char *uri, const char **why);

/* The scheme's length when uri starts with SCHEME "://" (lower-case letters,
 * digits, '+', '-', '.'), else 0. */
unsigned nc_uri_scheme_len(const char *uri);

#endif
