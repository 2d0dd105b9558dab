package embedded_test

import (
	"testing"

	"github.com/tidings-chat/tidings/adapters/contract"
	"github.com/tidings-chat/tidings/commands"
)

func TestAccountsContract(t *testing.T) {
	t.Parallel()
	contract.TestAccounts(t, func(t *testing.T) commands.Accounts { return openDB(t).Accounts() })
}

func TestDataKeysContract(t *testing.T) {
	contract.TestDataKeys(t, func(t *testing.T) contract.KeyStore { return openDB(t).Accounts() })
}

func TestSendLogContract(t *testing.T) {
	t.Parallel()
	contract.TestSendLog(t, func(t *testing.T) commands.SendLog { return openDB(t).SendLog() })
}
