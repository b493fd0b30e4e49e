package main

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sandbox"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/workflow"
)

// migrateTest is `doppel migrate test`: it needs a server it may wreck, doppel's own throwaway
// sandbox (started here, stopped when done) or --test-host, where the database must not exist yet
// (it is created, then dropped). This file is the one place outside tests, the demo and the
// benchmarks that starts a sandbox (docs/architecture.md, import rules).
func migrateTest(ctx context.Context, w *workflow.Workflow, conn dbconn.Config, database, testHost string, logger *zap.Logger) ([]string, error) {
	var target dbconn.Config
	if testHost != "" {
		host, portText, err := net.SplitHostPort(testHost)
		if err != nil {
			host, portText = testHost, "3306"
		}
		port, err := strconv.Atoi(portText)
		if err != nil {
			return nil, fmt.Errorf("--test-host %q: the port is not a number", testHost)
		}
		target = conn.WithHost(host, port)
	} else {
		sb, err := sandbox.Start(ctx, sandbox.Options{NoReplica: true, Logf: func(f string, a ...any) { logger.Info(fmt.Sprintf(f, a...)) }})
		if err != nil {
			return nil, fmt.Errorf("starting a throwaway server to test on (or name one with --test-host): %w", err)
		}
		defer func() {
			if err := sb.Stop(); err != nil {
				logger.Warn("stopping the throwaway server", zap.Error(err))
			}
		}()
		target = sb.Primary.Config()
	}
	admin, err := dbconn.Open(target, "")
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+sqlbuild.QuoteIdent(database)); err != nil {
		return nil, fmt.Errorf("creating %s on the test server (it must not exist there: the test drops it when done): %w", sqlbuild.QuoteIdent(database), err)
	}
	defer func() {
		if _, err := admin.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE "+sqlbuild.QuoteIdent(database)); err != nil {
			logger.Warn("dropping the test database", zap.Error(err))
		}
	}()
	db, err := dbconn.Open(target, database)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return w.Test(ctx, db)
}
