"""The merchant's own store, reached over HTTP: the signed notices of changes it bills."""
