#include "classical/xgboost_thread.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <future>
#include <mutex>
#include <thread>

namespace fvc {
namespace {

class SerialThread {
 public:
  SerialThread() : thread_([this] { loop(); }) { thread_.detach(); }

  void run(const std::function<void()>& fn) {
    std::packaged_task<void()> task(fn);
    std::future<void> done = task.get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(task));
    }
    wake_.notify_one();
    done.get();
  }

 private:
  void loop() {
    for (;;) {
      std::packaged_task<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return !queue_.empty(); });
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<void()>> queue_;
  std::thread thread_;
};

}  // namespace

void runOnXgboostThread(const std::function<void()>& fn) {
  // Never destroyed: the thread is detached and may still be waiting when the
  // process exits, so there is nothing to join in a static destructor.
  static SerialThread* serial = new SerialThread();
  serial->run(fn);
}

}  // namespace fvc
