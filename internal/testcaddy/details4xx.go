package testcaddy

// ClientDetails is the problem detail the README promises for each 4xx
// status, upstream or the site's own, written out here so a changed or
// swapped sentence fails a test.
var ClientDetails = map[int]string{
	400: "The request is malformed or invalid.",
	401: "Authentication is required to access this resource.",
	403: "Access to this resource is not allowed.",
	404: "There is no such resource.",
	405: "The request method is not supported for this resource.",
	407: "Authentication with the proxy is required.",
	409: "The request conflicts with the resource's current state.",
	416: "The requested range cannot be satisfied.",
	422: "The request is well-formed but semantically invalid.",
	429: "Too many requests were sent; please slow down.",
	// any 4xx without a sentence of its own
	0: "The request could not be processed.",
}

// LocalServerDetails is the detail of a 5xx the site answers by itself
// (handle_errors { upstream_errors }), which blames no upstream.
var LocalServerDetails = map[int]string{
	500: "The server failed to complete the request.",
	503: "The service is temporarily unavailable, overloaded or in maintenance.",
}
