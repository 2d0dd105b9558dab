// Package kafka is the event log on Kafka: EventLog (commands.EventLog)
// appends through Watermill's Kafka publisher; Stream
// (projections.Stream) reads with Sarama, the client Watermill wraps.
//
// Topic and key: every event goes to one topic (Config.Topic), to the
// partition domain.PartitionOf(key) where the key is the message's
// recipient. Kafka keeps order per partition, so all events of an inbox,
// and all events of one message (sent, delivered, read), reach the reader
// in the order they were appended.
//
// # Why the read side works beneath Watermill
//
// Watermill's Kafka subscriber hands a partition's next message out only
// after the previous one is acknowledged (watermill issue 374), so a
// handler that waits on I/O per event caps each partition at 1/wait. The
// views apply events in batches (projections.Batch: one store write per
// batch), which that one-message-in-flight contract cannot feed. Stream
// therefore reads with Sarama's partition consumers and consumer groups
// directly and hands out whatever is already fetched, up to
// Config.MaxBatch records, as one batch.
//
// The measurement (BenchmarkGroupConsume: 4 partitions, 20,000 records,
// Kafka 4.1 on the same 2-core machine, records/s from the first record
// handled to the last):
//
//	eval "$(bash scripts/services.sh env)"
//	go test -run '^$' -bench BenchmarkGroupConsume -benchtime=1x ./adapters/kafka/
//
//	                                            three runs, records/s
//	Watermill group subscriber, 1 ms handler
//	  per message, one worker per partition:     2,195   2,816   3,059
//	Stream.Consume, 1 ms handler per batch
//	  (357 to 400 records per batch):           11,990  46,572  99,873
//
// (2026-12-02, on commit 5d051f9 plus this package's changes, while other
// work loaded the machine and the broker. Watermill can never pass 4
// partitions × 1/1.05 ms ≈ 3,800 records/s, however idle the machine;
// Stream is bounded by fetching and decoding, not by the handler, so it
// moves with the load, and its slowest run is still 4× Watermill's
// fastest.)
//
// # Appends
//
// The producer is idempotent with acks=all (no duplicates from retries,
// acknowledged by every in-sync replica), which in Sarama means one
// produce request in flight per broker connection (see producerConfig).
// Throughput comes from batching concurrent appends into one request.
// BenchmarkAppend (64 concurrent appenders, 5,000 appends per run) chose
// the defaults: a 1 ms linger and no compression.
//
//	TIDINGS_KAFKA_PID=$(pgrep -f kafka.Kafka) go test -run '^$' \
//	  -bench BenchmarkAppend -benchtime=1x ./adapters/kafka/
//
//	medians of 7 runs       appends/s   client CPU   broker CPU (5 runs)
//	none, no linger             9,068      57 µs        78 µs
//	none, 1 ms linger          10,896      43 µs        30 µs
//	none, 5 ms linger (4 runs)  6,100      45 µs        42 µs (2 runs)
//	lz4,  no linger             7,081      52 µs        62 µs
//	lz4,  1 ms linger           6,543      47 µs        46 µs
//
// (2026-12-02. Each figure varied by up to 3× between runs: the machine
// and the broker were shared with other work, which also inflates the
// broker's CPU. The ranking held in most runs: a 1 ms linger costs the
// least CPU on both sides and loses no throughput, 5 ms only adds
// latency, lz4 saves nothing on events of a few hundred bytes.)
package kafka
