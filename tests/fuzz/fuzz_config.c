/*
 * libFuzzer target: the configuration parser, on any text.  Inputs that
 * include other files are skipped: the parser would read whatever they
 * name on this machine, which is not the parser's input.  Configs with a
 * forward are parsed but not made into services (that resolves names).
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_errors	  errs = { .n = 0 };
	struct config		 *conf;
	struct harbor_service	**svcs;
	char			 *text;
	size_t			  n, i;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* Nothing of the file system: no includes, quote files or modules
	 * (which would be loaded, and run). */
	if (strstr(text, "include") != NULL || strstr(text, "quote-file") !=
	    NULL || strstr(text, "module") != NULL) {
		free(text);
		return 0;
	}
	conf = config_load_string("fuzz.conf", text, &errs);
	/* A forward's backend is looked up when its service is made, and a
	 * name would go to DNS: parsed here, not made. */
	if (conf != NULL && strstr(text, "forward") == NULL) {
		/* Everything a config turns into must build too. */
		svcs = config_make_services(conf, &n, &errs);
		if (svcs != NULL) {
			for (i = 0; i < n; i++)
				harbor_service_free(svcs[i]);
			free(svcs);
		}
	}
	config_free(conf);
	if (errs.n > CONF_MAX_ERRORS)
		abort();
	conf_errors_clear(&errs);
	free(text);
	return 0;
}
