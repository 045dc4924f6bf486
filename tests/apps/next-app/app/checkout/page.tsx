import CheckoutButton from "@/components/CheckoutButton";

export default function Checkout() {
  return <CheckoutButton />;
}
