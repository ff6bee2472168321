package geo

// PeopleStore keeps people, their appointments (grid leader, deputy,
// village liaison leader, town duty desk), leave, and roster imports.
// Every method returns EUNAVAILABLE when the database cannot be reached.
type PeopleStore interface{}
