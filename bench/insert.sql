-- pgbench single-row insert baseline for the create benchmark.
INSERT INTO bench_insert (payload) VALUES (md5(random()::text));
