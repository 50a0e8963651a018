package upstreamerrors

import (
	"slices"
	"strings"

	"go.uber.org/zap"
)

// warnNo5xx logs at load an intercept list that names no 5xx status. A
// list replaces the default 5xx rather than adding to it, so `intercept
// 404`, meant to add 404, lets upstream 5xx pages, stack traces included,
// through again; the entry says so and how to keep them replaced.
//
// `intercept off` does not warn: passing every upstream status through is
// what it is for, and a warning that an explicit switch cannot silence
// would teach users to ignore the log at load.
func (h *Handler) warnNo5xx() {
	if h.DisableIntercept || len(h.Intercept) == 0 {
		return
	}
	for _, r := range h.intercept {
		if r.hi >= 500 {
			return // at least part of 5xx is replaced
		}
	}
	keep := append(slices.Clone(h.Intercept), Group5xx)
	h.logger.Warn("intercept lists no 5xx status, so upstream 5xx responses pass through untouched, their error pages and stack traces included; add 5xx to the list to keep replacing them",
		zap.Strings("intercept", h.Intercept),
		zap.String("passes_through", Group5xx),
		zap.String("keep_5xx", "intercept "+strings.Join(keep, " ")),
	)
}
