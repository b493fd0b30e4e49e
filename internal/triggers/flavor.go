package triggers

// A Flavor is what differs between MySQL and MariaDB in moving triggers.
type Flavor interface {
	// StatementKeepsOrder reports whether SHOW CREATE TRIGGER's statement may keep the FOLLOWS or
	// PRECEDES clause it was created with. MariaDB drops the clause from the statement it keeps
	// (seen on 10.11), so statements replayed in ACTION_ORDER land where they were, each last of
	// its timing and event. MySQL 8 keeps the text after the trigger's name, clause included; a
	// clause naming a trigger created after it would fail, so there a trigger sharing its timing
	// and event with another is recreated from its parts, FOLLOWS its predecessor.
	StatementKeepsOrder() bool
	// DefinerPrivilege names what lets a user create a trigger for another definer.
	DefinerPrivilege() string
	// RenameUnderLock reports whether RENAME TABLE runs in a session holding LOCK TABLES (MySQL
	// 8.0.13+; MariaDB refuses it, error 1192). doppel's cut-over does not rely on it: one
	// algorithm everywhere.
	RenameUnderLock() bool
}

// FlavorOf returns the flavour of a server: name is "mysql" or "mariadb" (dbconn.Flavor.Name).
func FlavorOf(name string, major, minor, patch int) Flavor {
	if name == "mariadb" {
		return mariadb{}
	}
	return mysql{renameUnderLock: major > 8 || (major == 8 && (minor > 0 || patch >= 13))}
}

type mariadb struct{}

func (mariadb) StatementKeepsOrder() bool { return false }
func (mariadb) DefinerPrivilege() string  { return "SET USER (MariaDB 10.5.2+) or SUPER" }
func (mariadb) RenameUnderLock() bool     { return false }

type mysql struct{ renameUnderLock bool }

func (mysql) StatementKeepsOrder() bool { return true }
func (mysql) DefinerPrivilege() string {
	return "SET_ANY_DEFINER (MySQL 8.2+), SET_USER_ID (8.0) or SUPER"
}
func (m mysql) RenameUnderLock() bool { return m.renameUnderLock }

var (
	_ Flavor = mariadb{}
	_ Flavor = mysql{}
)
