module memlens.dev/examples/catalog

go 1.26
