package store

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMailboxDefaultsAndUpdate(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	createUser(t, db, "100")
	vm := db.Voicemail()

	m, err := vm.Mailbox(ctx, "100")
	require.NoError(t, err)
	require.Equal(t, Mailbox{Extension: "100", AnnounceTime: true, AnnounceCallerID: true, EmailMode: EmailNone,
		StorageLimitBytes: DefaultStorageLimit}, m)
	_, err = vm.Mailbox(ctx, "999")
	require.ErrorIs(t, err, ErrNotFound)

	yes, mode, fwd, limit := true, EmailBriefAttachment, "+14155550100", int64(1000)
	m, err = vm.UpdateMailbox(ctx, "100", MailboxUpdate{Enabled: &yes, SortLatestFirst: &yes, EmailMode: &mode,
		OperatorForward: &fwd, StorageLimitBytes: &limit})
	require.NoError(t, err)
	require.True(t, m.Enabled)
	require.True(t, m.SortLatestFirst)
	require.Equal(t, EmailBriefAttachment, m.EmailMode)
	require.Equal(t, "+14155550100", m.OperatorForward)
	u, err := db.Users().FindByExtension(ctx, "100")
	require.NoError(t, err)
	require.True(t, u.VoicemailEnabled, "enabled is the user's voicemail_enabled")

	bad := "fax"
	_, err = vm.UpdateMailbox(ctx, "100", MailboxUpdate{EmailMode: &bad})
	requireRule(t, err, "email_mode", "enum")
	badFwd := "call me"
	_, err = vm.UpdateMailbox(ctx, "100", MailboxUpdate{OperatorForward: &badFwd})
	requireRule(t, err, "operator_forward", "destination")
	none := int64(42)
	_, err = vm.UpdateMailbox(ctx, "100", MailboxUpdate{ActiveGreetingID: &none})
	requireRule(t, err, "active_greeting", "exists")
	m, err = vm.Mailbox(ctx, "100")
	require.NoError(t, err)
	require.Equal(t, EmailBriefAttachment, m.EmailMode, "a refused update changes nothing")
}

func TestMessagesLifecycle(t *testing.T) {
	ctx := context.Background()
	db, clk := openTestDB(t)
	createUser(t, db, "100")
	vm := db.Voicemail()
	limit := int64(2500)
	_, err := vm.UpdateMailbox(ctx, "100", MailboxUpdate{StorageLimitBytes: &limit})
	require.NoError(t, err)

	add := func(key string, size int64) (Message, error) {
		clk.Add(time.Minute)
		return vm.AddMessage(ctx, "100", NewMessage{CallerNumber: "+14155550100", CallerName: "Grace",
			ReceivedAt: clk.Now(), Duration: 3 * time.Second, SizeBytes: size, AudioKey: key})
	}
	m1, err := add("voicemail/100/a.wav", 1000)
	require.NoError(t, err)
	require.Equal(t, FolderNew, m1.Folder)
	require.Equal(t, 3*time.Second, m1.Duration)
	m2, err := add("voicemail/100/b.wav", 1000)
	require.NoError(t, err)
	_, err = add("voicemail/100/c.wav", 1000)
	require.ErrorIs(t, err, ErrMailboxFull, "2,000 of 2,500 bytes used")
	room, err := vm.Room(ctx, "100")
	require.NoError(t, err)
	require.EqualValues(t, 500, room)

	_, err = vm.MoveMessage(ctx, "100", m1.ID, FolderSaved)
	require.NoError(t, err)
	box, err := vm.Mailbox(ctx, "100")
	require.NoError(t, err)
	require.Equal(t, 1, box.NewMessages)
	require.Equal(t, 1, box.SavedMessages)
	require.EqualValues(t, 2000, box.UsedBytes)
	counts, err := vm.Counts(ctx, "100")
	require.NoError(t, err)
	require.Equal(t, MessageCounts{Enabled: box.Enabled, New: 1, Saved: 1}, counts, "the lamp's counts are the mailbox's")
	_, err = vm.Counts(ctx, "199")
	require.ErrorIs(t, err, ErrNotFound)

	list, err := vm.Messages(ctx, "100", "", false)
	require.NoError(t, err)
	require.Equal(t, []int64{m2.ID, m1.ID}, []int64{list[0].ID, list[1].ID}, "new before saved")
	list, err = vm.Messages(ctx, "100", FolderNew, true)
	require.NoError(t, err)
	require.Len(t, list, 1)

	require.NoError(t, vm.DeleteMessage(ctx, "100", m1.ID))
	require.ErrorIs(t, vm.DeleteMessage(ctx, "100", m1.ID), ErrNotFound)
	_, err = vm.Message(ctx, "100", m1.ID)
	require.ErrorIs(t, err, ErrNotFound)
	orphans, err := vm.Orphans(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"voicemail/100/a.wav"}, orphans, "the deleted message's audio waits for the blob store")
	require.NoError(t, vm.DropOrphans(ctx, orphans))

	// Another user's message is not this one's.
	createUser(t, db, "101")
	_, err = vm.MoveMessage(ctx, "101", m2.ID, FolderSaved)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = vm.MoveMessage(ctx, "100", m2.ID, "trash")
	requireRule(t, err, "folder", "enum")

	n, err := vm.ClearMessages(ctx, "100")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	orphans, err = vm.Orphans(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"voicemail/100/b.wav"}, orphans)
}

func TestGreetingsNameAndClearData(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	createUser(t, db, "100")
	vm := db.Voicemail()

	g1, err := vm.AddGreeting(ctx, "100", "Office hours", "greetings/100/a.wav", 800, 2*time.Second)
	require.NoError(t, err)
	_, err = vm.AddGreeting(ctx, "100", "Office hours", "greetings/100/b.wav", 800, 2*time.Second)
	require.ErrorIs(t, err, ErrConflict)
	g2, err := vm.AddGreeting(ctx, "100", "Holidays", "greetings/100/c.wav", 800, 2*time.Second)
	require.NoError(t, err)
	_, err = vm.UpdateMailbox(ctx, "100", MailboxUpdate{ActiveGreetingID: &g2.ID})
	require.NoError(t, err)
	gs, err := vm.Greetings(ctx, "100")
	require.NoError(t, err)
	require.Len(t, gs, 2)
	require.False(t, gs[0].Active)
	require.True(t, gs[1].Active)

	// Deleting the active greeting goes back to the default one.
	require.NoError(t, vm.DeleteGreeting(ctx, "100", g2.ID))
	box, err := vm.Mailbox(ctx, "100")
	require.NoError(t, err)
	require.Zero(t, box.ActiveGreetingID)

	require.NoError(t, vm.SetName(ctx, "100", "names/100/a.wav", 300))
	require.NoError(t, vm.SetName(ctx, "100", "names/100/b.wav", 400))
	box, err = vm.Mailbox(ctx, "100")
	require.NoError(t, err)
	require.Equal(t, "names/100/b.wav", box.NameKey)
	require.EqualValues(t, 800+400, box.UsedBytes)

	_, err = vm.AddMessage(ctx, "100", NewMessage{ReceivedAt: time.Now(), Duration: time.Second, SizeBytes: 10, AudioKey: "voicemail/100/m.wav"})
	require.NoError(t, err)
	require.NoError(t, vm.ClearData(ctx, "100"))
	box, err = vm.Mailbox(ctx, "100")
	require.NoError(t, err)
	require.Zero(t, box.UsedBytes)
	require.Empty(t, box.NameKey)
	orphans, err := vm.Orphans(ctx, 10)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"greetings/100/a.wav", "greetings/100/c.wav", "names/100/a.wav",
		"names/100/b.wav", "voicemail/100/m.wav"}, orphans)
	_ = g1
}

// Deleting a user leaves every key of its audio to sweep.
func TestDeletedUserOrphansItsAudio(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	createUser(t, db, "100")
	vm := db.Voicemail()
	_, err := vm.AddMessage(ctx, "100", NewMessage{ReceivedAt: time.Now(), SizeBytes: 1, AudioKey: "voicemail/100/m.wav"})
	require.NoError(t, err)
	_, err = vm.AddGreeting(ctx, "100", "g", "greetings/100/g.wav", 1, 0)
	require.NoError(t, err)
	require.NoError(t, vm.SetName(ctx, "100", "names/100/n.wav", 1))
	require.NoError(t, db.Users().Delete(ctx, "100"))
	orphans, err := vm.Orphans(ctx, 10)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"voicemail/100/m.wav", "greetings/100/g.wav", "names/100/n.wav"}, orphans)
}

func TestPINLockout(t *testing.T) {
	ctx := context.Background()
	db, clk := openTestDB(t)
	createUser(t, db, "100")
	vm := db.Voicemail()
	for i := 1; i <= 2; i++ {
		locked, _, err := vm.PINFailed(ctx, "100", 3, 10*time.Minute)
		require.NoError(t, err)
		require.False(t, locked, "failure %d", i)
	}
	locked, until, err := vm.PINFailed(ctx, "100", 3, 10*time.Minute)
	require.NoError(t, err)
	require.True(t, locked)
	require.Equal(t, clk.Now().Add(10*time.Minute).UnixMilli(), until.UnixMilli())
	box, err := vm.Mailbox(ctx, "100")
	require.NoError(t, err)
	require.Equal(t, 3, box.PINFailures)
	require.NoError(t, vm.PINSucceeded(ctx, "100"))
	box, err = vm.Mailbox(ctx, "100")
	require.NoError(t, err)
	require.Zero(t, box.PINFailures)
	require.True(t, box.LockedUntil.IsZero())
}
