// The narrow text types of the cluster file. Every string a user writes ends up inside a rendered
// file (chrony.conf, grafana.ini, ansible.cfg, Ansible vars, alertmanager.yml, Kubernetes objects,
// authorized_keys), so each field accepts only what its meaning allows: a host name cannot hold a
// newline, a user name cannot hold "{{", a path cannot hold "%". The renderers escape on top of
// this (src/render/text/), but the first line of defence is here, with an error that says what
// the field expects.
//
// Every type is a regular expression (plus a length bound), so the JSON Schema editors use
// (`vmstation schema`) carries the same rule as the validator.
import { z } from 'zod';

const problem = (code: string, hint: string) => ({ problem: { code, hint } });

// A DNS label as RFC 1123 allows it in host names (letters of either case, digits, "-"), and a
// name of such labels at most 253 characters long.
const label = '[A-Za-z0-9](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?';
// The lookahead bounds the whole name to 253 characters, up to the ":" of a port or the "/" or "?" of a URL.
const hostName = `(?=[^:/?]{1,253}(?:[:/?]|$))${label}(?:\\.${label})*`;
const ipv4 = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(?:\\.(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}';
const port = '(?:6553[0-5]|655[0-2]\\d|65[0-4]\\d{2}|6[0-4]\\d{3}|[1-5]\\d{4}|[1-9]\\d{0,3})';
const host = `(?:${ipv4}|${hostName})`;

/** A host name or IPv4 address (an NTP server, a load balancer, an SMTP relay). */
export const HOST_PATTERN = new RegExp(`^${host}$`);
/** `host:port` with the port required (Alertmanager's smarthost: Go's net.SplitHostPort refuses a missing port). */
export const HOST_PORT_PATTERN = new RegExp(`^${host}:${port}$`);
/** `host` or `host:port`. */
export const HOST_OPTIONAL_PORT_PATTERN = new RegExp(`^${host}(?::${port})?$`);

export const TimeServer = z
  .string()
  .regex(HOST_PATTERN)
  .meta(problem('invalid-time-server', 'write the host name or IPv4 address of an NTP server, e.g. pool.ntp.org or time.cloudflare.com (one per list item)'));

export const HostAndPort = z
  .string()
  .regex(HOST_PORT_PATTERN)
  .meta(problem('invalid-host-port', 'write host:port, e.g. smtp.example.com:587 (a host name or IPv4 address and a port 1-65535)'));

export const HostAndOptionalPort = z
  .string()
  .regex(HOST_OPTIONAL_PORT_PATTERN)
  .meta(problem('invalid-host-port', 'write host or host:port, e.g. k8s.homelab.lan:6443'));

/**
 * A login name on a Linux host: what shadow-utils' useradd accepts without --badname (a letter or
 * "_" first, then letters, digits, ".", "_", "-"; at most 32 characters).
 */
export const UserName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/)
  .meta(problem('invalid-user-name', 'write a Linux user name: a letter or "_" first, then letters, digits, ".", "_" or "-" (at most 32 characters), e.g. root or admin'));

/** An account name at a service (Grafana's admin login, an SMTP user): no spaces, quotes or markup. */
export const AccountName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@+=-]{0,127}$/)
  .meta(problem('invalid-account-name', 'write an account name of letters, digits and . _ @ + = - (at most 128 characters), e.g. admin or alerts@example.com'));

// Path characters: letters, digits and . _ - + @ = , / ; no spaces, quotes, "%", "$", "{" or "~" inside.
const pathChars = '[A-Za-z0-9._+@=,/-]';

/** A file on the operator's machine: absolute, or under the home folder (`~/`). */
export const LocalPath = z
  .string()
  .regex(new RegExp(`^(?:/|~/)${pathChars}{0,4094}$`))
  .meta(problem('invalid-path', 'write an absolute path or one under your home folder, e.g. ~/.ssh/id_ed25519, using letters, digits and . _ - + @ = , / only'));

/** A file on the operator's machine; relative paths are relative to the cluster file's folder. */
export const LocalFilePath = z
  .string()
  .regex(new RegExp(`^(?:/|~/)?${pathChars}{1,4094}$`))
  .meta(problem('invalid-path', 'write a file name or path, e.g. secrets.vault.yaml, using letters, digits and . _ - + @ = , / only'));

/** A folder on a node: absolute. */
export const NodePath = z
  .string()
  .regex(new RegExp(`^/${pathChars}{0,4094}$`))
  .meta(problem('invalid-path', 'write an absolute path on the node, e.g. /var/lib/vmstation, using letters, digits and . _ - + @ = , / only'));

// RFC 3986: unreserved, sub-delims, ":" "@" and percent-escapes in a path segment; "?" and "/" in a query.
const pchar = "[A-Za-z0-9\\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2}";
const urlPath = `/(?:${pchar}|/)*`;
const urlQuery = `\\?(?:${pchar}|[/?])*`;

/** An HTTP(S) URL without credentials: scheme, host, optional port, path and query (RFC 3986 characters only). */
export const HttpUrl = z
  .string()
  .max(2048)
  .regex(new RegExp(`^https?://${host}(?::${port})?(?:${urlPath})?(?:${urlQuery})?$`))
  .meta(problem('invalid-url', 'write an http:// or https:// URL with a host name or IPv4 address, e.g. https://ntfy.sh; no credentials in it (use `token` for a bearer token)'));

/** The path (and query) of an HTTP request, e.g. /health or /api/health?full=1. */
export const UrlPath = z
  .string()
  .max(2048)
  .regex(new RegExp(`^(?:${urlPath})(?:${urlQuery})?$`))
  .meta(problem('invalid-url-path', 'write a path that starts with "/", e.g. /health, using the characters a URL allows (escape others as %XX)'));

/** One e-mail address (zod's pattern: no quoted local parts, no comments, no display name). */
export const EmailAddress = z.email().max(254).meta(problem('invalid-email', 'write one e-mail address, e.g. alerts@example.com (no display name)'));

/**
 * ntfy's topic names: `^[-_A-Za-z0-9]{1,64}$` (binwiederhier/ntfy@v2.11.0:server/server.go,
 * topicRegex).
 */
export const NtfyTopic = z
  .string()
  .regex(/^[-_A-Za-z0-9]{1,64}$/)
  .meta(problem('invalid-ntfy-topic', 'an ntfy topic is 1-64 letters, digits, "-" or "_"'));

// Kubernetes label keys and values (k8s.io/apimachinery validation: IsQualifiedName, IsValidLabelValue).
const qualifiedName = '[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';
const dnsSubdomain = '(?=[^/]{1,253}/)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*';

export const LabelKey = z
  .string()
  .regex(new RegExp(`^(?:${dnsSubdomain}/)?${qualifiedName}$`))
  .meta(problem('invalid-label-key', 'a Kubernetes label or taint key: an optional DNS prefix and "/", then up to 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit, e.g. vmstation.io/storage'));

export const LabelValue = z
  .string()
  .regex(new RegExp(`^(?:${qualifiedName})?$`))
  .meta(problem('invalid-label-value', 'a Kubernetes label or taint value: empty, or up to 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit (quote "true")'));

/**
 * A command line run over SSH on a node (the suspend command): one line of printable ASCII, no
 * leading or trailing space, at most 256 characters.
 */
export const CommandLine = z
  .string()
  .regex(/^(?! )[\x20-\x7e]{1,256}(?<! )$/)
  .meta(problem('invalid-command', 'write one command line of printable ASCII characters (no line breaks), e.g. systemctl suspend'));

/** An IANA time zone name as written in the tz database (the rules check that it exists). */
export const TimeZoneName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_+/-]{0,63}$/)
  .meta(problem('invalid-timezone', 'use an IANA name such as Europe/Berlin, America/New_York or UTC'));

/** A 5-field cron expression (the rules parse it). */
export const CronText = z
  .string()
  .regex(/^[0-9A-Za-z*/,?#LW -]{1,128}$/)
  .meta(problem('invalid-cron', 'write a 5-field cron expression such as "0 1 * * *" (minute hour day month weekday)'));

/** Free text for people (a description): any characters except control characters other than tab and line breaks; at most 4096. */
export const FreeText = z
  .string()
  .max(4096)
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]*$/)
  .meta(problem('invalid-text', 'remove control characters; at most 4096 characters'));
