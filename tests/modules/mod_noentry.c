/* A test module that forgot HARBOR_MODULE: no entry point. */
int	mod_noentry_nothing(void);

int
mod_noentry_nothing(void)
{
	return 0;
}
