-- till-post.lua: wrk script that POSTs the tickets of a file, one JSON body
-- a line (`benchtool tickets` writes them from the simulator's generator),
-- in turn, so that an external client sends exactly what `passerelle sim
-- till` sends. Each ticket is posted once: run it with one wrk thread
-- (-t1) and a file longer than the run needs: a ref posted twice would be
-- an idempotent replay (200), which wrk cannot tell from a 201 without a
-- response() hook that would slow it down. errors counts answers >= 400
-- and socket errors.
--
-- Usage: TICKETS=FILE wrk -t1 -c16 -d5s -s bench/till-post.lua \
--          -H "Authorization: Bearer KEY" URL/api/v1/tickets
local bodies = {}
local i = 0

function init(args)
   local path = os.getenv("TICKETS") or error("TICKETS: the file of ticket bodies")
   for line in io.lines(path) do
      bodies[#bodies + 1] = line
   end
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   i = i % #bodies + 1
   return wrk.format(nil, nil, nil, bodies[i])
end

function done(summary, latency, requests)
   io.write(string.format("wrk-summary requests %d rate %.1f p50 %.2f p99 %.2f max %.2f errors %d\n",
      summary.requests, summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
      summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
