package commands_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

func ptr(s string) *string { return &s }

func TestTokensExpire(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	alice := e.register(t, "alice")
	if want := e.now.Truncate(time.Millisecond).Add(commands.DefaultSessionLifetime); !alice.ExpiresAt.Equal(want) {
		t.Fatalf("ExpiresAt %s, want %s", alice.ExpiresAt, want)
	}
	e.now = alice.ExpiresAt.Add(-time.Millisecond)
	if _, err := e.cmd.Authenticate.Handle(ctx, alice.Token); err != nil {
		t.Fatalf("a millisecond before expiry: %v", err)
	}
	e.now = alice.ExpiresAt
	if _, err := e.cmd.Authenticate.Handle(ctx, alice.Token); domain.CodeOf(err) != domain.CodeUnauthorized {
		t.Fatalf("at expiry: %v, want unauthorized", err)
	}
}

func TestSignInWithPassword(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	reg, err := e.cmd.RegisterUser.Handle(ctx, commands.RegisterUser{Name: "alice", Password: ptr("correct horse")})
	if err != nil {
		t.Fatal(err)
	}
	e.register(t, "nopass")
	for _, tc := range []struct {
		name, user, password string
		code                 domain.Code
	}{
		{"WrongPassword", "alice", "wrong horse", domain.CodeInvalidCredentials},
		{"UnknownName", "zed", "correct horse", domain.CodeInvalidCredentials},
		{"UserWithoutPassword", "nopass", "correct horse", domain.CodeInvalidCredentials},
		{"NoPassword", "alice", "", domain.CodeMissingField},
		{"NoName", "", "correct horse", domain.CodeMissingField},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.cmd.SignIn.Handle(ctx, commands.SignIn{Name: tc.user, Password: tc.password})
			if domain.CodeOf(err) != tc.code {
				t.Fatalf("SignIn: %v, want %s", err, tc.code)
			}
		})
	}
	e.now = e.now.Add(time.Hour)
	in, err := e.cmd.SignIn.Handle(ctx, commands.SignIn{Name: "alice", Password: "correct horse"})
	if err != nil || in.User.ID != reg.User.ID || in.Token == reg.Token || !strings.HasPrefix(in.Token, commands.TokenPrefix) {
		t.Fatalf("SignIn: %+v, %v", in, err)
	}
	if !in.ExpiresAt.Equal(e.now.Truncate(time.Millisecond).Add(commands.DefaultSessionLifetime)) {
		t.Fatalf("new token expires at %s", in.ExpiresAt)
	}
	for _, tok := range []string{reg.Token, in.Token} {
		if u, err := e.cmd.Authenticate.Handle(ctx, tok); err != nil || u.ID != reg.User.ID {
			t.Fatalf("Authenticate after sign-in: %+v, %v", u, err)
		}
	}
}

func TestPasswordRules(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		name, password string
		code           domain.Code
	}{
		{"TooShort", "1234567", domain.CodeInvalidPassword},
		{"TooLong", strings.Repeat("é", commands.MaxPasswordLen+1), domain.CodeInvalidPassword},
		{"ShortestInCharacters", "éééééééé", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.cmd.RegisterUser.Handle(context.Background(), commands.RegisterUser{Name: strings.ToLower(tc.name), Password: &tc.password})
			if tc.code == "" && err != nil || tc.code != "" && domain.CodeOf(err) != tc.code {
				t.Fatalf("RegisterUser: %v, want %q", err, tc.code)
			}
		})
	}
}

func TestSignOutAndRotate(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	alice := e.register(t, "alice")
	rotated, err := e.cmd.RotateSession.Handle(ctx, commands.RotateSession{User: alice.User, Token: alice.Token})
	if err != nil || rotated.Token == alice.Token {
		t.Fatalf("RotateSession: %+v, %v", rotated, err)
	}
	if _, err := e.cmd.Authenticate.Handle(ctx, alice.Token); domain.CodeOf(err) != domain.CodeUnauthorized {
		t.Fatalf("the rotated-out token: %v, want unauthorized", err)
	}
	if _, err := e.cmd.Authenticate.Handle(ctx, rotated.Token); err != nil {
		t.Fatalf("the new token: %v", err)
	}
	if err := e.cmd.SignOut.Handle(ctx, commands.SignOut{Token: rotated.Token}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cmd.Authenticate.Handle(ctx, rotated.Token); domain.CodeOf(err) != domain.CodeUnauthorized {
		t.Fatalf("after sign-out: %v, want unauthorized", err)
	}
	if err := e.cmd.SignOut.Handle(ctx, commands.SignOut{Token: rotated.Token}); err != nil {
		t.Fatalf("signing out twice: %v", err)
	}
}
