package main

// Dependencies chosen for doppel, imported here until the code using them lands.
import (
	_ "github.com/go-mysql-org/go-mysql/replication"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "go.uber.org/goleak"
	_ "go.uber.org/zap"
	_ "go.uber.org/zap/exp/zapslog"
	_ "golang.org/x/sync/errgroup"
)
