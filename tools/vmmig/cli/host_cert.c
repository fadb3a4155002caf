// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig host cert { ca-create | request | sign | show }: this host's key and
 * certificate for migration TLS, and a small lab CA (lib/cert.c). vmmigd
 * reads DIR/ca.crt, DIR/host.crt and DIR/host.key (DIR: /etc/vmmig/tls).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "output.h"
#include "parse.h"
#include "tls.h"
#include "vmdef.h"
#include "vmmig.h"

static int parse_days(const char *s, unsigned int *days)
{
	char why[VMMIG_ERRLEN];
	uint32_t v;

	if (parse_u32("--days", s, 1, 36500, &v, why)) {
		error_msg(what, "%s", why);
		return -EINVAL;
	}
	*days = v;
	return 0;
}

static int cert_failed(const char *why)
{
	error_msg(what, "%s", why);
	return EXIT_FAIL;
}

static int cert_ca_create_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "days", required_argument, NULL, 'D' },
		{}
	};
	const char *dir = NULL, *name = "vmmig lab CA";
	unsigned int days = CERT_CA_DAYS;
	char why[VMMIG_ERRLEN];
	int c;

	while ((c = cmd_getopt(argc, argv, lo)) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c == 'n')
			name = optarg;
		else if (c != 'D' || parse_days(optarg, &days))
			return EXIT_USAGE;
	}
	if (cmd_args(argc, argv, ""))
		return EXIT_USAGE;
	if (!dir)
		return usage_error("missing --dir DIR");
	if (!*name || strlen(name) > 64)
		return usage_error("--name: 1 to 64 characters");
	if (cert_ca_create(dir, name, days, why))
		return cert_failed(why);
	print_string(PRINT_ANY, "name", "CA '%s'", name);
	print_string(PRINT_ANY, "dir", " in %s: ca.key, ca.crt", dir);
	print_uint(PRINT_ANY, "days", " (%llu days)", days);
	print_nl();
	output_flush();
	return EXIT_OK;
}

static const struct cmd cert_ca_create_cmd = {
	.name = "ca-create",
	.fn = cert_ca_create_main,
	.args = "--dir DIR [ --name NAME ] [ --days N ]",
	.help = "makes a small lab CA in DIR (for tests and small setups): ca.key\n"
		"(mode 0600, keep it off the hosts) and ca.crt, which every host\n"
		"gets; never overwrites one (default: 'vmmig lab CA', 3650 days)\n",
};

static int cert_request_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "dir", required_argument, NULL, 'd' },
		{}
	};
	const char *dir = VMMIG_TLS_DIR, *name = NULL;
	char why[VMMIG_ERRLEN];
	bool new_key;
	int c;

	while ((c = cmd_getopt(argc, argv, lo)) != -1) {
		if (c == 'n')
			name = optarg;
		else if (c == 'd')
			dir = optarg;
		else
			return EXIT_USAGE;
	}
	if (cmd_args(argc, argv, ""))
		return EXIT_USAGE;
	if (!name)
		return usage_error("missing --name HOST");
	if (!cert_valid_hostname(name))
		return usage_error("--name: '%s' is not a host name", name);
	if (cert_request(dir, name, &new_key, why))
		return cert_failed(why);
	print_string(PRINT_ANY, "name", "request for %s", name);
	print_string(PRINT_ANY, "dir", " in %s: host.csr", dir);
	print_bool(PRINT_JSON, "new_key", NULL, new_key);
	print_text("%s", new_key ? ", new host.key" : ", with the existing host.key");
	print_nl();
	output_flush();
	return EXIT_OK;
}

static const struct cmd cert_request_cmd = {
	.name = "request",
	.fn = cert_request_main,
	.args = "--name HOST [ --dir DIR ]",
	.help = "makes this host's key DIR/host.key (mode 0600; kept if there) and\n"
		"a request DIR/host.csr for HOST (CN and DNS name) for the cluster\n"
		"CA to sign (default DIR: /etc/vmmig/tls)\n",
};

/* host.csr -> host.crt beside it; anything else gets ".crt" added. */
static int default_out(const char *csr, char *buf, size_t len)
{
	size_t n = strlen(csr);

	if (n > 4 && !strcmp(csr + n - 4, ".csr"))
		n -= 4;
	return (size_t)snprintf(buf, len, "%.*s.crt", (int)n, csr) >= len ? -ENAMETOOLONG : 0;
}

static int cert_sign_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "ca", required_argument, NULL, 'c' },
		{ "days", required_argument, NULL, 'D' },
		{ "out", required_argument, NULL, 'o' },
		{}
	};
	const char *ca = NULL, *out = NULL;
	unsigned int days = CERT_HOST_DAYS;
	char why[VMMIG_ERRLEN], path[PATH_MAX];
	int c;

	while ((c = cmd_getopt(argc, argv, lo)) != -1) {
		if (c == 'c')
			ca = optarg;
		else if (c == 'o')
			out = optarg;
		else if (c != 'D' || parse_days(optarg, &days))
			return EXIT_USAGE;
	}
	if (cmd_args(argc, argv, "CSR"))
		return EXIT_USAGE;
	if (!ca)
		return usage_error("missing --ca DIR");
	if (!out) {
		if (default_out(argv[optind], path, sizeof(path)))
			return usage_error("CSR: path too long");
		out = path;
	}
	if (cert_sign(argv[optind], ca, days, out, why))
		return cert_failed(why);
	print_string(PRINT_ANY, "certificate", "signed %s", out);
	print_uint(PRINT_ANY, "days", " (%llu days)", days);
	print_nl();
	output_flush();
	return EXIT_OK;
}

static const struct cmd cert_sign_cmd = {
	.name = "sign",
	.fn = cert_sign_main,
	.args = "CSR --ca DIR [ --days N ] [ --out FILE ]",
	.help = "the lab CA in DIR signs the request CSR (its signature checked,\n"
		"its host names copied) for N days (default 825) into FILE\n"
		"(default: CSR with .crt for .csr); copy FILE to the host as\n"
		"DIR/host.crt, with the CA's ca.crt\n",
};

static int cert_show_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{}
	};
	const char *dir = VMMIG_TLS_DIR;
	char why[VMMIG_ERRLEN];
	struct cert_info in;
	unsigned int i;
	int c;

	while ((c = cmd_getopt(argc, argv, lo)) != -1) {
		if (c == 'd')
			dir = optarg;
		else
			return EXIT_USAGE;
	}
	if (cmd_args(argc, argv, ""))
		return EXIT_USAGE;
	if (cert_show(dir, &in, why))
		return cert_failed(why);
	print_string(PRINT_ANY, "subject", "subject %s\n", in.subject);
	open_array("names");
	print_text("names");
	for (i = 0; i < in.nnames; i++)
		print_string(PRINT_ANY, NULL, " %s", in.names[i]);
	close_array();
	print_nl();
	print_string(PRINT_ANY, "issuer", "issuer %s\n", in.issuer);
	print_string(PRINT_ANY, "not_before", "valid %s", in.not_before);
	print_string(PRINT_ANY, "not_after", " to %s\n", in.not_after);
	print_string(PRINT_ANY, "sha256", "sha256 %s\n", in.fingerprint);
	print_bool(PRINT_JSON, "has_key", NULL, in.has_key);
	print_bool(PRINT_JSON, "key_matches", NULL, in.key_matches);
	print_text("host.key %s\n", !in.has_key ? "missing" :
		   in.key_matches ? "matches" : "does NOT match");
	print_bool(PRINT_JSON, "has_ca", NULL, in.has_ca);
	print_bool(PRINT_JSON, "ca_signed", NULL, in.ca_signed);
	if (!in.has_ca)
		print_text("ca.crt missing\n");
	else if (in.ca_signed)
		print_text("ca.crt signed it\n");
	else
		print_string(PRINT_ANY, "ca_error", "ca.crt did NOT sign it: %s\n", in.ca_error);
	output_flush();
	return EXIT_OK;
}

static const struct cmd cert_show_cmd = {
	.name = "show",
	.fn = cert_show_main,
	.args = "[ --dir DIR ]",
	.help = "DIR/host.crt: subject, DNS names, issuer, validity, SHA-256\n"
		"fingerprint, whether it matches DIR/host.key and whether DIR/ca.crt\n"
		"signed it (default DIR: /etc/vmmig/tls; also plain 'vmmig host cert')\n",
};

static const struct cmd *const cert_cmds[] = {
	&cert_ca_create_cmd, &cert_request_cmd, &cert_sign_cmd, &cert_show_cmd,
};
static const struct cmd_table cert_table = CMD_TABLE("host cert", cert_cmds, "show", NULL);

const struct cmd host_cert_cmd = {
	.name = "cert",
	.sub = &cert_table,
};
