package testcaddy

// Problem is the module's problem+json body, decoded.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Instance  string `json:"instance"`
	Cause     string `json:"cause"`
	RequestID string `json:"request_id"`
}
