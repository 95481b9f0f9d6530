// Package sip owns Switchboard's SIP side: the sipgo transports, request
// validation, the registrar with its digest authentication and bindings, and
// the forking proxy that runs routing plans (caller authentication, parallel
// branches, CANCEL, in-dialog routing by Record-Route).
//
// It must not import store, admin, voicemail or provisioning: it declares the
// small interfaces it needs (PhoneDirectory, BindingStore) and the root package
// wires concrete types into them.
//
// The sipgo message package is imported as gosip to keep this package's name.
package sip
