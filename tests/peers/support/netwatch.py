"""Prints one line for every DNS question and every TCP connection attempt that leaves a process of the
network namespace it runs in, on any interface, whatever the program or library that sends it:
    dns <server> <name>
    connect <address> <port>
Run it inside a container's namespace from the host: nsenter -t <pid of a process there> -n python3 netwatch.py
It reads raw packets (AF_PACKET), so it needs root. Standard library only.

On a user-defined Docker network, questions go to Docker's DNS server at 127.0.0.11, which the namespace's
iptables redirect to another port before the packet is seen: any UDP packet to 127.0.0.11 is a question. That
server answers the network's container names itself and passes any other name on to the host's resolvers from
inside the namespace, on port 53: seen too."""

DOCKER_DNS = "127.0.0.11"
import socket
import struct

ETH_P_ALL = 0x0003
ETHERNET_HEADER = 14


def dns_question(packet, offset):
    labels = []
    while offset < len(packet):
        length = packet[offset]
        if length == 0 or length & 0xC0:
            break
        labels.append(packet[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    return ".".join(labels)


def main():
    sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(ETH_P_ALL))
    print("watching", flush=True)
    while True:
        frame, address = sniffer.recvfrom(65535)
        # Each packet sent is seen once as outgoing (on loopback, again as incoming: skipped).
        if address[2] != socket.PACKET_OUTGOING:
            continue
        ethertype = struct.unpack("!H", frame[12:14])[0]
        if ethertype == 0x0800:
            protocol = frame[ETHERNET_HEADER + 9]
            destination = socket.inet_ntop(socket.AF_INET, frame[ETHERNET_HEADER + 16 : ETHERNET_HEADER + 20])
            transport = ETHERNET_HEADER + (frame[ETHERNET_HEADER] & 0x0F) * 4
        elif ethertype == 0x86DD:
            protocol = frame[ETHERNET_HEADER + 6]
            destination = socket.inet_ntop(socket.AF_INET6, frame[ETHERNET_HEADER + 24 : ETHERNET_HEADER + 40])
            transport = ETHERNET_HEADER + 40
        else:
            continue
        port = struct.unpack("!H", frame[transport + 2 : transport + 4])[0]
        if protocol == 17 and (port == 53 or destination == DOCKER_DNS):
            print("dns %s %s" % (destination, dns_question(frame, transport + 8 + 12)), flush=True)
        elif protocol == 6:
            flags = frame[transport + 13]
            if flags & 0x02 and not flags & 0x10:
                print("connect %s %d" % (destination, port), flush=True)


if __name__ == "__main__":
    main()
