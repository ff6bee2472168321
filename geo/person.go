package geo

import "time"

// Person is someone who holds a role in the town: a grid leader (网格长), a
// deputy, a member, a village liaison leader or the town's duty desk. No
// national ID number is ever stored.
type Person struct {
	ID    int64
	Name  string
	Phone string
	// EndedAt is set when the person has left; people are ended, not deleted.
	EndedAt time.Time
}

// Role is what a person is assigned to do.
type Role string

// Roles of assignments. Leader, deputy and member are held on a grid; liaison
// leader on a village (联村工作组组长); duty desk on the town (值班室).
const (
	RoleLeader        Role = "leader"
	RoleDeputy        Role = "deputy"
	RoleMember        Role = "member"
	RoleLiaisonLeader Role = "liaison_leader"
	RoleDutyDesk      Role = "duty_desk"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	switch r {
	case RoleLeader, RoleDeputy, RoleMember, RoleLiaisonLeader, RoleDutyDesk:
		return true
	}
	return false
}
