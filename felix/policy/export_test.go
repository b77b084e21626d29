package policy

// ForgetRenders drops what the Calculator's renderers keep, so the next
// Render renders every chain from scratch (the baseline of the
// incremental render's benchmarks).
func (c *Calculator) ForgetRenders() {
	for _, rd := range c.renderers {
		rd.Forget()
	}
	clear(c.renderers)
}
