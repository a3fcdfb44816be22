// SpscRing: a bounded single-producer / single-consumer queue of trivially copyable items.
//
// - Capacity N (a power of two) items, stored inline (a ring of N slots; no allocation). Large
//   rings belong on the heap or in static storage, not on a thread's stack.
// - head_ (next slot to write) is written only by the producer, tail_ (next slot to read) only by
//   the consumer; both are free-running counters, reduced mod N on access. Each sits on its own
//   cache line next to the owner's cached copy of the other side's counter, so the owner
//   touches the shared line only when its cached view says the ring is full (producer) or
//   empty (consumer).
// - Ordering: the producer writes slots, then publishes head_ with a release store; the
//   consumer's acquire load of head_ makes those slots visible. Symmetrically, the consumer
//   releases slots by a release store of tail_ and the producer acquires it before reuse.
// - Burst calls move as many items as fit and return the count (possibly 0): no blocking, no
//   exceptions, no allocation, no locks.
//
// Thread context: push*/producer side from exactly one thread, pop*/consumer side from exactly
// one (other) thread. size()/empty() may be called from either side or a third thread and are
// approximations (exact when both sides are quiescent).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <span>
#include <type_traits>

namespace volley::engine {

template <typename T, std::size_t N>
class SpscRing {
  static_assert(N >= 2 && (N & (N - 1)) == 0, "SpscRing capacity must be a power of two >= 2");
  static_assert(std::is_trivially_copyable_v<T>, "SpscRing items must be trivially copyable");
  static_assert(std::is_default_constructible_v<T>, "SpscRing slots are default-constructed");

 public:
  static constexpr std::size_t kCapacity = N;

  SpscRing() noexcept = default;
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  [[nodiscard]] static constexpr std::size_t capacity() noexcept { return N; }

  // Producer: append up to items.size() items; returns how many were appended.
  [[nodiscard]] std::size_t push_burst(std::span<const T> items) noexcept {
    const std::size_t head = prod_.head.load(std::memory_order_relaxed);
    std::size_t free_slots = N - (head - prod_.cached_tail);
    if (free_slots < items.size()) {
      prod_.cached_tail = cons_.tail.load(std::memory_order_acquire);
      free_slots = N - (head - prod_.cached_tail);
    }
    const std::size_t n = std::min(free_slots, items.size());
    if (n == 0) return 0;
    const std::size_t at = head & kMask;
    const std::size_t first = std::min(n, N - at);  // up to the end of the array, then wrap
    std::copy_n(items.data(), first, slots_.data() + at);
    std::copy_n(items.data() + first, n - first, slots_.data());
    prod_.head.store(head + n, std::memory_order_release);
    return n;
  }

  // Producer: append one item; false when full.
  [[nodiscard]] bool push(const T& item) noexcept {
    const std::size_t head = prod_.head.load(std::memory_order_relaxed);
    if (head - prod_.cached_tail == N) {
      prod_.cached_tail = cons_.tail.load(std::memory_order_acquire);
      if (head - prod_.cached_tail == N) return false;
    }
    slots_[head & kMask] = item;
    prod_.head.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer: remove up to out.size() items into out; returns how many were removed.
  [[nodiscard]] std::size_t pop_burst(std::span<T> out) noexcept {
    const std::size_t tail = cons_.tail.load(std::memory_order_relaxed);
    std::size_t avail = cons_.cached_head - tail;
    if (avail < out.size()) {
      cons_.cached_head = prod_.head.load(std::memory_order_acquire);
      avail = cons_.cached_head - tail;
    }
    const std::size_t n = std::min(avail, out.size());
    if (n == 0) return 0;
    const std::size_t at = tail & kMask;
    const std::size_t first = std::min(n, N - at);
    std::copy_n(slots_.data() + at, first, out.data());
    std::copy_n(slots_.data(), n - first, out.data() + first);
    cons_.tail.store(tail + n, std::memory_order_release);
    return n;
  }

  // Consumer: remove one item; false when empty.
  [[nodiscard]] bool pop(T& out) noexcept {
    const std::size_t tail = cons_.tail.load(std::memory_order_relaxed);
    if (cons_.cached_head == tail) {
      cons_.cached_head = prod_.head.load(std::memory_order_acquire);
      if (cons_.cached_head == tail) return false;
    }
    out = slots_[tail & kMask];
    cons_.tail.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Approximate number of queued items, in [0, N].
  [[nodiscard]] std::size_t size() const noexcept {
    // Tail first: it never passes head, so a later head read is >= it.
    const std::size_t tail = cons_.tail.load(std::memory_order_acquire);
    const std::size_t head = prod_.head.load(std::memory_order_acquire);
    return std::min(head - tail, N);
  }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }

 private:
  static constexpr std::size_t kMask = N - 1;
  static constexpr std::size_t kCacheLine = 64;

  struct alignas(kCacheLine) ProducerSide {
    std::atomic<std::size_t> head{0};  // written by the producer only
    std::size_t cached_tail = 0;       // producer's last view of tail
  };
  struct alignas(kCacheLine) ConsumerSide {
    std::atomic<std::size_t> tail{0};  // written by the consumer only
    std::size_t cached_head = 0;       // consumer's last view of head
  };

  ProducerSide prod_;
  ConsumerSide cons_;
  alignas(kCacheLine) std::array<T, N> slots_{};
};

}  // namespace volley::engine
