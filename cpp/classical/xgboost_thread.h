#pragma once
// Every XGBoost call runs on one long-lived thread. libgomp keeps an OpenMP
// team per calling thread; when fits land on whichever libuv worker is free,
// each new caller pays for a fresh team and the teams then compete for the
// cores (measured: 1.5-2.5x slower than python3-xgboost on the same work).
// One caller keeps one warm team, as in a Python process.
#include <functional>

namespace fvc {

// Runs fn on the XGBoost thread and waits for it; an exception thrown by fn
// is rethrown in the caller. Calls from several workers run one at a time.
void runOnXgboostThread(const std::function<void()>& fn);

}  // namespace fvc
