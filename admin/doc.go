// Package admin serves the JSON admin API under /api/v1, /healthz and
// /metrics. Handlers return errors; one function writes them.
//
// It must not import store or sip: it declares the interfaces it needs, in its
// own types, and the root package adapts the store to them.
//
// Resources, all behind "Authorization: Bearer <token>":
//
//	POST   /api/v1/users                                 201, Location
//	GET    /api/v1/users?limit=&offset=&site=&department= {"users": [...], "total": N}
//	GET    /api/v1/users/{extension}
//	PATCH  /api/v1/users/{extension}                     absent fields stay unchanged
//	DELETE /api/v1/users/{extension}                     204
//	POST   /api/v1/users/{extension}/phones              201, Location
//	GET    /api/v1/users/{extension}/phones              {"phones": [...]}
//	GET    /api/v1/users/{extension}/phones/{name}
//	PATCH  /api/v1/users/{extension}/phones/{name}
//	DELETE /api/v1/users/{extension}/phones/{name}       204
//	GET    /api/v1/registrations?extension=              {"registrations": [...]}
//	POST   /api/v1/time-frames                           201, Location
//	GET    /api/v1/time-frames                           {"time_frames": [...]}, "always" first
//	GET    /api/v1/time-frames/{name}
//	PATCH  /api/v1/time-frames/{name}
//	DELETE /api/v1/time-frames/{name}                    204; 409 in_use, 400 builtin
//	POST   /api/v1/users/{extension}/answering-rules     201, Location; enabled by default
//	GET    /api/v1/users/{extension}/answering-rules     {"answering_rules": [...]} in order
//	PUT    /api/v1/users/{extension}/answering-rules/order  {"ids": [...]}, answers the new order
//	GET    /api/v1/users/{extension}/answering-rules/{id}
//	PATCH  /api/v1/users/{extension}/answering-rules/{id}   null clears a forward or simring
//	DELETE /api/v1/users/{extension}/answering-rules/{id}   204; 400 default_rule
//	GET    /api/v1/users/{extension}/allow-block
//	PUT    /api/v1/users/{extension}/allow-block         replaces both lists and the flag
//	GET    /api/v1/users/{extension}/explain?from=&at=   the decision a call would get
//	GET    /api/v1/recordings?extension=&from=&to=&limit=&after=  {"recordings": [...], "next": cursor}, newest first
//	GET    /api/v1/recordings/{id}
//	GET    /api/v1/recordings/{id}/audio                 audio/wav
//	DELETE /api/v1/recordings/{id}                       204
//
// /healthz and /metrics need no token.
//
// Secrets (password, voicemail PIN, SIP password) are write-only: no answer
// carries them, except the SIP password the backend generates for a phone
// created without one, shown once in the answer that created it.
//
// Request bodies are strict: application/json, at most 1 MiB, one object, no
// unknown or read-only field, no null, except that an answering rule's
// forwards and simring take null for "not set". Every error answer is
// {"error": message, "field": field, "rule": rule}, field and rule when they
// apply.
package admin
