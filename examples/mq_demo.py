"""mq_demo: a producer and a consumer on a message queue (docs/shell.md).

    run examples/mq_demo.py consumer &   waits for the producer's word, then takes
                                         every message: highest priority first
    run examples/mq_demo.py producer     sends four messages with priorities

The consumer waits on a semaphore the producer releases once it has sent them
all, so it finds the four in the queue at once and shows their order.
"""

import sys

from libipc import MessageQueue, Semaphore

queue = MessageQueue("/jobs", create=True, max_messages=8, max_message_size=64)
sent = Semaphore("/jobs-sent", create=True, undo=False)

if sys.argv[1:] == ["producer"]:
    for text, priority in (("tidy up", 1), ("fix the leak", 9), ("write docs", 5),
                           ("review", 5)):
        queue.send(text.encode(), priority=priority)
    print(f"producer: sent 4 messages, {queue.current_messages} in the queue")
    sent.release()
else:
    sent.acquire(timeout=30)
    while queue.current_messages:
        data, priority = queue.receive(timeout=0)
        print(f"consumer: {priority} {data.decode()}")
    queue.unlink()
    sent.unlink()
