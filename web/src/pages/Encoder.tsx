import { PageTitle, NotAvailable } from '../components/common';

export default function Encoder() {
  return (
    <div>
      <PageTitle>Encoder</PageTitle>
      <NotAvailable what="Encoder" />
    </div>
  );
}
