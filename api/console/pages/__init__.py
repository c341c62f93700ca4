"""The console's pages, one module per role (plus sign-in); each exposes `router`."""
