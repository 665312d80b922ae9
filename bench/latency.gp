# Chart of shmbroker-bench results: latency against the number of live
# segments, idle connections and concurrent clients, and throughput against
# concurrent clients. Input: the --chart-data file, blocks named
# "s<scenario> <series>"; each point is the median over runs, the error bar
# its min..max.
#
#   gnuplot -e "datafile='bench-chart.dat'; outfile='bench-latency.png'" latency.gp

if (!exists("datafile")) datafile = "bench-chart.dat"
if (!exists("outfile")) outfile = "bench-latency.png"
if (!exists("subtitle")) subtitle = ""

set terminal pngcairo size 1400,1000 font ",10"
set output outfile
set multiplot layout 2,2 title "shmbroker-bench: median over runs, bars = min..max ".subtitle
set logscale x 10
set grid
set key top left
set format x "10^{%L}"
set offsets graph 0.04, graph 0.04, 0, 0

set title "create / open latency vs live segments (one client, daemon on the same CPU)"
set xlabel "live segments (the level reached; the table says why a level was not)"
set ylabel "latency (us)"
set yrange [0:*]
plot datafile index "s4 segments create p50" using 1:2:3:4 with yerrorlines title "create p50", \
     datafile index "s4 segments create p99" using 1:2:3:4 with yerrorlines title "create p99", \
     datafile index "s4 segments open p50" using 1:2:3:4 with yerrorlines title "open p50", \
     datafile index "s4 segments open p99" using 1:2:3:4 with yerrorlines title "open p99"

set title "create / open latency vs idle connections"
set xlabel "idle connections"
plot datafile index "s4 connections create p50" using 1:2:3:4 with yerrorlines title "create p50", \
     datafile index "s4 connections create p99" using 1:2:3:4 with yerrorlines title "create p99", \
     datafile index "s4 connections open p50" using 1:2:3:4 with yerrorlines title "open p50", \
     datafile index "s4 connections open p99" using 1:2:3:4 with yerrorlines title "open p99"

set title "open+release latency vs concurrent clients (closed loop)"
set xlabel "concurrent clients"
set logscale y 10
set yrange [*:*]
set format y "10^{%L}"
plot datafile index "s3 clients broker p50" using 1:2:3:4 with yerrorlines title "broker p50", \
     datafile index "s3 clients broker p99" using 1:2:3:4 with yerrorlines title "broker p99"

set title "open+release throughput vs concurrent clients"
set ylabel "operations per second"
unset logscale y
set format y "%g"
set yrange [0:*]
plot datafile index "s3 clients broker ops/s" using 1:2:3:4 with yerrorlines title "broker", \
     datafile index "s3 clients echo ops/s" using 1:2:3:4 with yerrorlines title "echo floor (no bookkeeping)", \
     datafile index "s3 clients broker ops per daemon CPU-s" using 1:2:3:4 with yerrorlines dashtype 2 \
          title "broker, per CPU-second of the daemon"

unset multiplot
