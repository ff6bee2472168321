package geo

// OrganizationStore keeps organizations, their members and the grids they
// serve. Every method returns EUNAVAILABLE when the database cannot be
// reached.
type OrganizationStore interface{}
