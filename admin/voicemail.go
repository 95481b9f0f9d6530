package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"
)

// VoicemailBackend is what the voicemail endpoints need. Audio comes in as
// the bytes of an uploaded WAV or MP3 and goes out as 8 kHz WAV.
type VoicemailBackend interface {
	GetVoicemail(ctx context.Context, ext string) (Voicemail, error)
	UpdateVoicemail(ctx context.Context, ext string, p VoicemailPatch) (Voicemail, error)
	// ListMessages returns the messages in folder ("" for both), in the
	// order the user's inbox option says.
	ListMessages(ctx context.Context, ext, folder string) ([]VoicemailMessage, error)
	MoveMessage(ctx context.Context, ext string, id int64, folder string) (VoicemailMessage, error)
	DeleteMessage(ctx context.Context, ext string, id int64) error
	ClearMessages(ctx context.Context, ext string) (int, error)
	// ClearVoicemailData deletes every message, greeting and the name.
	ClearVoicemailData(ctx context.Context, ext string) error
	ListGreetings(ctx context.Context, ext string) ([]Greeting, error)
	// AddGreeting converts audio (WAV or MP3) to the stored format; audio
	// it cannot read is Invalid("file", "audio", ...).
	AddGreeting(ctx context.Context, ext, name string, audio []byte) (Greeting, error)
	DeleteGreeting(ctx context.Context, ext string, id int64) error
	PutRecordedName(ctx context.Context, ext string, audio []byte) error
	DeleteRecordedName(ctx context.Context, ext string) error
	// Audio opens the WAV of a message ("message"), greeting ("greeting")
	// or the recorded name ("name", id unused).
	Audio(ctx context.Context, ext, kind string, id int64) (io.ReadCloser, int64, error)
}

// Voicemail is a user's mailbox as the API shows it.
type Voicemail struct {
	Enabled           bool   `json:"enabled"`
	SortLatestFirst   bool   `json:"sort_latest_first"`
	AnnounceTime      bool   `json:"announce_time"`
	AnnounceCallerID  bool   `json:"announce_caller_id"`
	OperatorForward   string `json:"operator_forward"` // extension or +E.164, "" for none
	EmailMode         string `json:"email_mode"`       // none, link, brief_link, attachment, brief_attachment
	StorageLimitBytes int64  `json:"storage_limit_bytes"`
	// Read-only.
	UsedBytes      int64      `json:"used_bytes"`
	NewMessages    int        `json:"new_messages"`
	SavedMessages  int        `json:"saved_messages"`
	ActiveGreeting *int64     `json:"active_greeting"` // null: the default greeting
	HasName        bool       `json:"has_name"`
	LockedUntil    *time.Time `json:"locked_until"` // set while PIN failures lock the mailbox
}

// VoicemailPatch holds the members of a PATCH .../voicemail body.
type VoicemailPatch struct {
	Enabled           *bool           `json:"enabled"`
	SortLatestFirst   *bool           `json:"sort_latest_first"`
	AnnounceTime      *bool           `json:"announce_time"`
	AnnounceCallerID  *bool           `json:"announce_caller_id"`
	OperatorForward   *string         `json:"operator_forward"`
	EmailMode         *string         `json:"email_mode"`
	StorageLimitBytes *int64          `json:"storage_limit_bytes"`
	ActiveGreeting    Optional[int64] `json:"active_greeting"` // null: the default greeting
}

// VoicemailMessage is one message.
type VoicemailMessage struct {
	ID           int64     `json:"id"`
	Folder       string    `json:"folder"` // new or saved
	CallerNumber string    `json:"from"`
	CallerName   string    `json:"from_name"`
	ReceivedAt   time.Time `json:"received_at"`
	DurationMS   int64     `json:"duration_ms"`
	SizeBytes    int64     `json:"size_bytes"`
}

// Greeting is one recorded greeting.
type Greeting struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	DurationMS int64     `json:"duration_ms"`
	SizeBytes  int64     `json:"size_bytes"`
	Active     bool      `json:"active"`
	CreatedAt  time.Time `json:"created_at"`
}

// maxUploadBytes bounds an uploaded greeting or name recording.
const maxUploadBytes = 16 << 20

func (s *server) voicemailRoutes() {
	const base = "/api/v1/users/{extension}/voicemail"
	s.api("GET "+base, s.withVM(s.getVoicemail))
	s.api("PATCH "+base, s.withVM(s.updateVoicemail))
	s.api("POST "+base+":clear-data", s.withVM(s.clearVoicemailData))
	s.api("GET "+base+"/messages", s.withVM(s.listMessages))
	s.api("POST "+base+"/messages:clear", s.withVM(s.clearMessages))
	s.api("GET "+base+"/messages/{id}/audio", s.withVM(s.audio("message")))
	s.api("PATCH "+base+"/messages/{id}", s.withVM(s.moveMessage))
	s.api("DELETE "+base+"/messages/{id}", s.withVM(s.deleteMessage))
	s.api("GET "+base+"/greetings", s.withVM(s.listGreetings))
	s.api("POST "+base+"/greetings", s.withVM(s.addGreeting))
	s.api("GET "+base+"/greetings/{id}/audio", s.withVM(s.audio("greeting")))
	s.api("DELETE "+base+"/greetings/{id}", s.withVM(s.deleteGreeting))
	s.api("GET "+base+"/name", s.withVM(s.audio("name")))
	s.api("PUT "+base+"/name", s.withVM(s.putName))
	s.api("DELETE "+base+"/name", s.withVM(s.deleteName))
}

// vmHandler is a handler of the voicemail endpoints.
type vmHandler func(vb VoicemailBackend, w http.ResponseWriter, r *http.Request) error

// withVM serves h with the backend's voicemail side, or 404 when the
// backend has none.
func (s *server) withVM(h vmHandler) handlerFunc {
	return withSide(s, "voicemail is not available", h)
}

// withSide serves h with the side B of the backend (an optional
// interface), or 404 saying unavailable when the backend has none.
func withSide[B any](s *server, unavailable string, h func(B, http.ResponseWriter, *http.Request) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		side, ok := s.backend.(B)
		if !ok {
			return &Error{Status: http.StatusNotFound, Message: unavailable}
		}
		return h(side, w, r)
	}
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, NotFound("message")
	}
	return id, nil
}

func (s *server) getVoicemail(vb VoicemailBackend, w http.ResponseWriter, r *http.Request) error {
	v, err := vb.GetVoicemail(r.Context(), r.PathValue("extension"))
	if err != nil {
		return fmt.Errorf("get voicemail: %w", err)
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *server) updateVoicemail(vb VoicemailBackend, w http.ResponseWriter, r *http.Request) error {
	var p VoicemailPatch
	if err := readJSONNullable(w, r, &p, []string{"used_bytes", "new_messages", "saved_messages", "has_name", "locked_until"},
		[]string{"active_greeting"}); err != nil {
		return err
	}
	v, err := vb.UpdateVoicemail(r.Context(), r.PathValue("extension"), p)
	if err != nil {
		return fmt.Errorf("update voicemail: %w", err)
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *server) clearVoicemailData(vb VoicemailBackend, w http.ResponseWriter, r *http.Request) error {
	if err := vb.ClearVoicemailData(r.Context(), r.PathValue("extension")); err != nil {
		return fmt.Errorf("clear voicemail data: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type messageList struct {
	Messages []VoicemailMessage `json:"messages"`
}

func (s *server) listMessages(vb VoicemailBackend, w http.ResponseWriter, r *http.Request) error {
	folder := r.URL.Query().Get("folder")
	if folder != "" && folder != "new" && folder != "saved" {
		return Invalid("folder", "enum", "folder is new or saved")
	}
	list, err := vb.ListMessages(r.Context(), r.PathValue("extension"), folder)
	if err != nil {
		return fmt.Errorf("list messages: %w", err)
	}
	if list == nil {
		list = []VoicemailMessage{}
	}
	return writeJSON(w, http.StatusOK, messageList{Messages: list})
}

func (s *server) clearMessages(vb VoicemailBackend, w http.ResponseWriter, r *http.Request) error {
	n, err := vb.ClearMessages(r.Context(), r.PathValue("extension"))
	if err != nil {
		return fmt.Errorf("clear messages: %w", err)
	}
	return writeJSON(w, http.StatusOK, map[string]int{"deleted": n})
}

func (s *server) moveMessage(vb VoicemailBackend, w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var p struct {
		Folder *string `json:"folder"`
	}
	if err := readJSON(w, r, &p, []string{"id", "from", "from_name", "received_at", "duration_ms", "size_bytes"}); err != nil {
		return err
	}
	if p.Folder == nil {
		return Invalid("folder", "required", "folder is new or saved")
	}
	m, err := vb.MoveMessage(r.Context(), r.PathValue("extension"), id, *p.Folder)
	if err != nil {
		return fmt.Errorf("move message: %w", err)
	}
	return writeJSON(w, http.StatusOK, m)
}

func (s *server) deleteMessage(vb VoicemailBackend, w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := vb.DeleteMessage(r.Context(), r.PathValue("extension"), id); err != nil {
		return fmt.Errorf("delete message: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type greetingList struct {
	Greetings []Greeting `json:"greetings"`
}

func (s *server) listGreetings(vb VoicemailBackend, w http.ResponseWriter, r *http.Request) error {
	list, err := vb.ListGreetings(r.Context(), r.PathValue("extension"))
	if err != nil {
		return fmt.Errorf("list greetings: %w", err)
	}
	if list == nil {
		list = []Greeting{}
	}
	return writeJSON(w, http.StatusOK, greetingList{Greetings: list})
}

// readUpload reads a multipart/form-data body: the audio in the part
// "file", and the form values.
func readUpload(w http.ResponseWriter, r *http.Request) ([]byte, map[string]string, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, nil, &Error{Status: http.StatusUnsupportedMediaType, Rule: "content_type",
			Message: "send the audio as multipart/form-data, in a part named file"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, &Error{Status: http.StatusBadRequest, Rule: "body", Message: "malformed multipart body", Err: err}
	}
	values := map[string]string{}
	var audio []byte
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, uploadError(err)
		}
		b, err := io.ReadAll(part)
		part.Close()
		if err != nil {
			return nil, nil, uploadError(err)
		}
		if part.FormName() == "file" {
			audio = b
		} else if name := part.FormName(); name != "" {
			values[name] = string(b)
		}
	}
	if len(audio) == 0 {
		return nil, nil, Invalid("file", "required", "the audio goes in a part named file")
	}
	return audio, values, nil
}

func uploadError(err error) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &Error{Status: http.StatusRequestEntityTooLarge, Rule: "max_size",
			Message: fmt.Sprintf("upload exceeds %d bytes", maxUploadBytes)}
	}
	return &Error{Status: http.StatusBadRequest, Rule: "body", Message: "malformed multipart body", Err: err}
}

func (s *server) addGreeting(vb VoicemailBackend, w http.ResponseWriter, r *http.Request) error {
	audio, values, err := readUpload(w, r)
	if err != nil {
		return err
	}
	g, err := vb.AddGreeting(r.Context(), r.PathValue("extension"), values["name"], audio)
	if err != nil {
		return fmt.Errorf("add greeting: %w", err)
	}
	return writeJSON(w, http.StatusCreated, g)
}

func (s *server) deleteGreeting(vb VoicemailBackend, w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return NotFound("greeting")
	}
	if err := vb.DeleteGreeting(r.Context(), r.PathValue("extension"), id); err != nil {
		return fmt.Errorf("delete greeting: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) putName(vb VoicemailBackend, w http.ResponseWriter, r *http.Request) error {
	audio, _, err := readUpload(w, r)
	if err != nil {
		return err
	}
	if err := vb.PutRecordedName(r.Context(), r.PathValue("extension"), audio); err != nil {
		return fmt.Errorf("record name: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) deleteName(vb VoicemailBackend, w http.ResponseWriter, r *http.Request) error {
	if err := vb.DeleteRecordedName(r.Context(), r.PathValue("extension")); err != nil {
		return fmt.Errorf("delete recorded name: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// audio serves the WAV of a message, a greeting or the recorded name.
func (s *server) audio(kind string) vmHandler {
	return func(vb VoicemailBackend, w http.ResponseWriter, r *http.Request) error {
		var id int64
		var err error
		if kind != "name" {
			if id, err = pathID(r); err != nil {
				return NotFound(kind)
			}
		}
		rc, size, err := vb.Audio(r.Context(), r.PathValue("extension"), kind, id)
		if err != nil {
			return fmt.Errorf("open %s audio: %w", kind, err)
		}
		serveWAV(w, rc, size)
		return nil
	}
}

// serveWAV sends stored audio of size bytes and closes rc.
func serveWAV(w http.ResponseWriter, rc io.ReadCloser, size int64) {
	defer rc.Close()
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, rc) // the status is sent; a client that goes away is its own business
}
