package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func newRecording(key string, at time.Time, size int64) NewRecording {
	return NewRecording{CallerNumber: "1001", CallerName: "Ada", Callee: "+14155550100", CallID: "c-" + key,
		StartedAt: at, Duration: 90 * time.Second, SizeBytes: size, AudioKey: key}
}

func TestRecordingsAddGetDelete(t *testing.T) {
	ctx := context.Background()
	db, clk := openTestDB(t)
	createUser(t, db, "1001")
	recs := db.Recordings()

	at := epoch.Add(-time.Hour)
	rec, err := recs.AddRecording(ctx, "1001", newRecording("recordings/1001/a.wav", at, 1000))
	require.NoError(t, err)
	require.Equal(t, Recording{ID: rec.ID, Extension: "1001", CallerNumber: "1001", CallerName: "Ada",
		Callee: "+14155550100", CallID: "c-recordings/1001/a.wav", StartedAt: at, Duration: 90 * time.Second,
		SizeBytes: 1000, AudioKey: "recordings/1001/a.wav", CreatedAt: clk.Now()}, rec)
	got, err := recs.Recording(ctx, rec.ID)
	require.NoError(t, err)
	require.Equal(t, rec, got)

	_, err = recs.AddRecording(ctx, "1999", newRecording("recordings/1999/a.wav", at, 1))
	require.ErrorIs(t, err, ErrNotFound)
	_, err = recs.AddRecording(ctx, "1001", newRecording("recordings/1001/a.wav", at, 1))
	require.ErrorIs(t, err, ErrConflict, "one row per owner and audio")
	_, err = recs.AddRecording(ctx, "1001", NewRecording{StartedAt: at, SizeBytes: 1})
	require.Error(t, err, "no audio key")

	bad := newRecording("recordings/1001/b.wav", at, 1)
	bad.CallerName = "Ada\r\nInjected: yes"
	rec2, err := recs.AddRecording(ctx, "1001", bad)
	require.NoError(t, err, "caller ID that cannot be shown is dropped, the recording kept")
	require.Empty(t, rec2.CallerName)

	require.NoError(t, recs.DeleteRecording(ctx, rec.ID))
	require.ErrorIs(t, recs.DeleteRecording(ctx, rec.ID), ErrNotFound)
	_, err = recs.Recording(ctx, rec.ID)
	require.ErrorIs(t, err, ErrNotFound)
	orphans, err := db.Voicemail().Orphans(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"recordings/1001/a.wav"}, orphans, "the deleted recording's audio waits for the blob store")

	_, err = recs.AddRecording(ctx, "1001", newRecording("recordings/1001/a.wav", at, 1))
	require.Error(t, err, "released audio is not taken back")
}

// A call between two recorded users is one audio and two rows; the audio
// is released with the last of them, however they go.
func TestRecordingSharedAudio(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	createUser(t, db, "1001")
	createUser(t, db, "1002")
	recs := db.Recordings()
	vm := db.Voicemail()

	const key = "recordings/call/x.wav"
	a, err := recs.AddRecording(ctx, "1001", newRecording(key, epoch, 500))
	require.NoError(t, err)
	b, err := recs.AddRecording(ctx, "1002", newRecording(key, epoch, 500))
	require.NoError(t, err)
	for _, ext := range []string{"1001", "1002"} {
		box, err := vm.Mailbox(ctx, ext)
		require.NoError(t, err)
		require.EqualValues(t, 500, box.UsedBytes, "each owner's copy counts for %s", ext)
	}

	require.NoError(t, recs.DeleteRecording(ctx, a.ID))
	orphans, err := vm.Orphans(ctx, 10)
	require.NoError(t, err)
	require.Empty(t, orphans, "1002 still has the audio")
	_, err = recs.Recording(ctx, b.ID)
	require.NoError(t, err)

	require.NoError(t, db.Users().Delete(ctx, "1002"))
	orphans, err = vm.Orphans(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, []string{key}, orphans, "deleting the last owner releases the audio")
}

func TestRecordingsStorageLimit(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	createUser(t, db, "1001")
	recs := db.Recordings()
	vm := db.Voicemail()
	limit := int64(2500)
	_, err := vm.UpdateMailbox(ctx, "1001", MailboxUpdate{StorageLimitBytes: &limit})
	require.NoError(t, err)

	_, err = vm.AddMessage(ctx, "1001", NewMessage{ReceivedAt: epoch, SizeBytes: 1000, AudioKey: "voicemail/1001/m.wav"})
	require.NoError(t, err)
	rec, err := recs.AddRecording(ctx, "1001", newRecording("recordings/1001/a.wav", epoch, 1000))
	require.NoError(t, err)
	box, err := vm.Mailbox(ctx, "1001")
	require.NoError(t, err)
	require.EqualValues(t, 2000, box.UsedBytes, "a message and a recording")

	_, err = recs.AddRecording(ctx, "1001", newRecording("recordings/1001/b.wav", epoch, 501))
	require.ErrorIs(t, err, ErrMailboxFull)
	_, err = vm.AddGreeting(ctx, "1001", "Office", "greetings/1001/g.wav", 501, time.Second)
	require.ErrorIs(t, err, ErrMailboxFull, "recordings take room from voicemail too")
	_, err = recs.AddRecording(ctx, "1001", newRecording("recordings/1001/b.wav", epoch, 500))
	require.NoError(t, err, "exactly at the limit")

	require.NoError(t, recs.DeleteRecording(ctx, rec.ID))
	room, err := vm.Room(ctx, "1001")
	require.NoError(t, err)
	require.EqualValues(t, 1000, room)
}

func TestRecordingsListing(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	createUser(t, db, "1001")
	createUser(t, db, "1002")
	recs := db.Recordings()

	// Five for 1001 a minute apart, two sharing a start; two for 1002.
	var ids1001 []int64
	for i, off := range []time.Duration{0, time.Minute, time.Minute, 2 * time.Minute, 3 * time.Minute} {
		rec, err := recs.AddRecording(ctx, "1001", newRecording(fmt.Sprintf("recordings/1001/%d.wav", i), epoch.Add(off), 10))
		require.NoError(t, err)
		ids1001 = append(ids1001, rec.ID)
	}
	for i := range 2 {
		_, err := recs.AddRecording(ctx, "1002", newRecording(fmt.Sprintf("recordings/1002/%d.wav", i), epoch.Add(time.Duration(i)*time.Hour), 10))
		require.NoError(t, err)
	}
	idsOf := func(p RecordingPage) []int64 {
		var out []int64
		for _, r := range p.Recordings {
			out = append(out, r.ID)
		}
		return out
	}

	all, err := recs.Recordings(ctx, RecordingFilter{})
	require.NoError(t, err)
	require.Len(t, all.Recordings, 7)
	require.Empty(t, all.Next)
	require.Equal(t, "1002", all.Recordings[0].Extension, "newest first")

	// Paging through 1001's, two at a time: every recording once, newest
	// first, ties by id.
	want := []int64{ids1001[4], ids1001[3], ids1001[2], ids1001[1], ids1001[0]}
	var got []int64
	f := RecordingFilter{Extension: "1001", Limit: 2}
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		p, err := recs.Recordings(ctx, f)
		require.NoError(t, err)
		got = append(got, idsOf(p)...)
		if p.Next == "" {
			break
		}
		f.After = p.Next
	}
	require.Equal(t, want, got)

	tests := []struct {
		name     string
		filter   RecordingFilter
		want     []int64
		err      error
		errField string
	}{
		{name: "from inclusive", filter: RecordingFilter{Extension: "1001", From: epoch.Add(2 * time.Minute)},
			want: []int64{ids1001[4], ids1001[3]}},
		{name: "to exclusive", filter: RecordingFilter{Extension: "1001", To: epoch.Add(time.Minute)},
			want: []int64{ids1001[0]}},
		{name: "window", filter: RecordingFilter{Extension: "1001", From: epoch.Add(time.Minute), To: epoch.Add(2 * time.Minute)},
			want: []int64{ids1001[2], ids1001[1]}},
		{name: "nothing", filter: RecordingFilter{Extension: "1001", From: epoch.Add(time.Hour)}},
		{name: "unknown user", filter: RecordingFilter{Extension: "1999"}, err: ErrNotFound},
		{name: "bad cursor", filter: RecordingFilter{After: "page-2"}, errField: "after"},
		{name: "empty window", filter: RecordingFilter{From: epoch, To: epoch}, errField: "to"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := recs.Recordings(ctx, tc.filter)
			switch {
			case tc.err != nil:
				require.ErrorIs(t, err, tc.err)
			case tc.errField != "":
				var ve *ValidationError
				require.ErrorAs(t, err, &ve)
				require.Equal(t, tc.errField, ve.Field)
			default:
				require.NoError(t, err)
				require.Equal(t, tc.want, idsOf(p))
				require.Empty(t, p.Next)
			}
		})
	}
}
