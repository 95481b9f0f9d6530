// Package provision owns desk-phone provisioning: the models Switchboard
// can configure (one small Go description each, with its file names and
// embedded text/template files), the renderer that turns a phone, its user
// and the site's settings into the vendor's file with the phone's
// overrides merged in by key, and the phone-facing HTTP handler that serves
// those files only to a device that authenticates with HTTP digest.
//
// A settings template does not write the file: it lists the file's
// settings in order ({{.Set "key" value}}). Overrides then replace values by
// key or append new keys, every key and value is checked against the file
// format, and a per-format frame template writes the file, escaping each
// value. Data never becomes structure: a value cannot open an XML element
// or start a new key=value line.
//
// It must not import store, admin, sip or the root package: it declares the
// small interfaces it needs (Directory) and the wiring maps store rows into
// Device.
package provision
